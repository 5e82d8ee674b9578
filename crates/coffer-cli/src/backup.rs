//! `backup`, `backup verify`, `restore`.

use std::io::Write;

use clap::Args;

use crate::exit::{usage, Exit};
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

#[derive(Args, Debug)]
pub struct BackupArgs {}

pub fn backup(_ctx: &Context, _args: &BackupArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct RestoreArgs {}

pub fn restore(_ctx: &Context, _args: &RestoreArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}
