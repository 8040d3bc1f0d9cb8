//! An image's update policy: which tags are candidates and which one wins.

pub mod filter;
