//! `migrate aws` and `scan`.

use std::io::Write;

use clap::Args;

use crate::exit::{usage, Exit};
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

#[derive(Args, Debug)]
pub struct MigrateArgs {}

pub fn migrate(_ctx: &Context, _args: &MigrateArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct ScanArgs {}

pub fn scan(_ctx: &Context, _args: &ScanArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}
