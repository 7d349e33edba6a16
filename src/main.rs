//! The `oxredis-server` binary (also `oxredis-check-aof` and
//! `oxredis-check-rdb` when started under those names).

#[global_allocator]
static GLOBAL: oxredis::zmalloc::CountingAllocator = oxredis::zmalloc::CountingAllocator;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(oxredis::run(args));
}
