//! placeholder during fetch
