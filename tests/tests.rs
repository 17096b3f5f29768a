//! Integration tests of the `wikidex` binary: one test binary, one module
//! per area. They run the real executable and talk to it over real sockets.

mod raw_http;
mod util;

mod browser;
mod caching;
mod compressed;
mod connections;
mod deploy;
mod drain;
mod dump_changes;
mod http_input;
mod index;
mod index_faults;
mod limits;
mod link_reference;
mod ranking;
mod reload;
mod search;
mod server;
mod titles;
mod web_page;
mod workers;
