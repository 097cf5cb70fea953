// One llama.cpp measurement in the shape of `bitnet bench -r 1 --json`:
// a prompt of NPP tokens evaluated in one batch (pp), then NTG tokens
// generated greedily one at a time (tg). It runs in its own process so that
// llama.cpp and bitnet never share a heap or a thread pool.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threads, npp, ntg] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const ctx = await model.createContext({contextSize: 512, batchSize: 512, threads: +threads, sequences: 1});
const seq = ctx.getSequence();
const vocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 32000;
const prompt = Array.from({length: +npp}, (_, i) => (i * 7919 + 13) % vocab);

let t0 = performance.now();
await seq.evaluateWithoutGeneratingNewTokens(prompt);
const pp = +npp / ((performance.now() - t0) / 1000);

await seq.clearHistory();
await seq.evaluateWithoutGeneratingNewTokens([prompt[0]]);
let n = 0;
t0 = performance.now();
for await (const _ of seq.evaluate([prompt[1]], {temperature: 0})) {
  if (++n >= +ntg) break;
}
const tg = n / ((performance.now() - t0) / 1000);
console.log(JSON.stringify({pp_tok_s: pp, tg_tok_s: tg}));
await llama.dispose();
