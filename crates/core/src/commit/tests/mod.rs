mod config;
mod message;
