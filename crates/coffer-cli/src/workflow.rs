//! `exec`, `env`, `inject`, `aws credential-process`, `vault-token-helper`: credentials into tools.

use std::io::Write;

use clap::Args;

use crate::exit::{usage, Exit};
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

#[derive(Args, Debug)]
pub struct ExecArgs {}

pub fn exec(_ctx: &Context, _args: &ExecArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct EnvArgs {}

pub fn env(_ctx: &Context, _args: &EnvArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct InjectArgs {}

pub fn inject(_ctx: &Context, _args: &InjectArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct AwsArgs {}

pub fn aws(_ctx: &Context, _args: &AwsArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct TokenHelperArgs {}

pub fn token_helper(_ctx: &Context, _args: &TokenHelperArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}
