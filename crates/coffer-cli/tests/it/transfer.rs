//! `coffer import` and `coffer export`.
