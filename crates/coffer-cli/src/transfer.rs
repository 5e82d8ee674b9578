//! `import` and `export`.

use std::io::Write;

use clap::Args;

use crate::exit::{usage, Exit};
use crate::session::Context;

type Out<'a> = &'a mut dyn Write;

#[derive(Args, Debug)]
pub struct ImportArgs {}

pub fn import(_ctx: &Context, _args: &ImportArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}

#[derive(Args, Debug)]
pub struct ExportArgs {}

pub fn export(_ctx: &Context, _args: &ExportArgs, _out: Out) -> anyhow::Result<Exit> {
    Err(usage("not built yet").into())
}
