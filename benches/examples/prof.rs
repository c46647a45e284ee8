//! Scratch: profile one decoder in wasmtime with a perf map.
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = &args[1];
    let file = &args[2];
    let metered = args.get(3).is_some();
    use legation_builtin_decoders as b;
    let module = match which.as_str() { "text" => b::TEXT, "csv" => b::CSV, "json" => b::JSON, "png" => b::PNG, "tiff" => b::TIFF, _ => panic!() };
    let module = if metered { legation_meter::meter(module, &Default::default()).unwrap() } else { module.to_vec() };
    let input = std::fs::read(file).unwrap();
    let mut c = wasmtime::Config::new();
    c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    let engine = wasmtime::Engine::new(&c).unwrap();
    let m = wasmtime::Module::new(&engine, &module).unwrap();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < 5.0 {
        let mut store = wasmtime::Store::new(&engine, ());
        let i = wasmtime::Instance::new(&mut store, &m, &[]).unwrap();
        let mem = i.get_memory(&mut store, "memory").unwrap();
        let alloc = i.get_typed_func::<i32, i32>(&mut store, "legation_alloc").unwrap();
        let p = alloc.call(&mut store, input.len() as i32).unwrap();
        mem.write(&mut store, p as usize, &input).unwrap();
        let f = i.get_typed_func::<(i32, i32), i64>(&mut store, "legation_decode").unwrap();
        f.call(&mut store, (p, input.len() as i32)).unwrap();
        n += 1;
    }
    println!("{n} runs");
}
