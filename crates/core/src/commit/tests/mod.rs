mod application;
mod config;
mod message;
