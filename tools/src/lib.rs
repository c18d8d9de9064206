//! Tools beside the product, kept out of the served binary (which carries
//! no HTTP client and no demo generator): the demo company, the load run,
//! the benchmarks and the baseline evaluation.

pub mod baseline_csv;
pub mod bench;
pub mod bench_allocation;
pub mod bench_analysis;
pub mod bench_baselines;
pub mod bench_proposals;
pub mod bench_reports;
pub mod demo;
pub mod export;
pub mod load;
