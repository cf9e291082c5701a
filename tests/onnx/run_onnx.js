// Runs ONNX models written by xgrad in ONNX Runtime (onnxruntime-node, CPU), on raw little-endian float32 files.
//   node run_onnx.js check <manifest.json>
//     each case of the manifest: run the model on its inputs and compare every output with the file xgrad wrote,
//     |onnx - xgrad| <= tolerance * max(1, |xgrad|); prints the largest error per case, exits 1 if one is over.
//   node run_onnx.js run <model.onnx> <input.f32> <dims, e.g. 10000,1,28,28> <output.f32> [rows per run]
//     runs a one-input, one-output model over the input in slices of dim 0 and writes the outputs in order.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readFloats(file, dims) {
  const bytes = fs.readFileSync(file);
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) {
    throw new Error(`${file}: ${bytes.length} bytes, expected ${count * 4} for shape (${dims.join(', ')})`);
  }
  const floats = new Float32Array(count);
  for (let i = 0; i < count; ++i) floats[i] = bytes.readFloatLE(i * 4);
  return floats;
}

async function check(manifestFile) {
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const directory = path.dirname(manifestFile);
  let failed = 0;
  for (const test of manifest.cases) {
    const inference = await ort.InferenceSession.create(path.join(directory, test.model));
    const feeds = {};
    for (const input of test.inputs) {
      feeds[input.name] = new ort.Tensor('float32', readFloats(path.join(directory, input.file), input.dims), input.dims);
    }
    const results = await inference.run(feeds);
    let worst = 0;
    for (const output of test.outputs) {
      const got = results[output.name];
      if (!got) throw new Error(`${test.model}: no output named ${output.name}`);
      if (got.dims.join(',') !== output.dims.join(',')) {
        throw new Error(`${test.name}: output ${output.name} has shape (${got.dims}), xgrad's (${output.dims})`);
      }
      const expected = readFloats(path.join(directory, output.file), output.dims);
      for (let i = 0; i < expected.length; ++i) {
        const error = Math.abs(got.data[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
        worst = Number.isNaN(error) ? Infinity : Math.max(worst, error);
      }
    }
    const ok = worst <= manifest.tolerance;
    if (!ok) ++failed;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${test.name}: largest error ${worst.toExponential(2)} (tolerance ${manifest.tolerance})`);
  }
  console.log(`${manifest.cases.length - failed} of ${manifest.cases.length} cases agree with xgrad`);
  return failed === 0 ? 0 : 1;
}

async function run(model, inputFile, dimsText, outputFile, rowsPerRun) {
  const dims = dimsText.split(',').map(Number);
  const data = readFloats(inputFile, dims);
  const inference = await ort.InferenceSession.create(model);
  const rowSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const chunks = [];
  for (let first = 0; first < dims[0]; first += rowsPerRun) {
    const rows = Math.min(rowsPerRun, dims[0] - first);
    const slice = data.subarray(first * rowSize, (first + rows) * rowSize);
    const feeds = {[inference.inputNames[0]]: new ort.Tensor('float32', slice, [rows, ...dims.slice(1)])};
    const result = (await inference.run(feeds))[inference.outputNames[0]];
    chunks.push(Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
  }
  fs.writeFileSync(outputFile, Buffer.concat(chunks));
  return 0;
}

async function main(args) {
  if (args[0] === 'check' && args.length === 2) return check(args[1]);
  if (args[0] === 'run' && (args.length === 5 || args.length === 6)) {
    return run(args[1], args[2], args[3], args[4], args.length === 6 ? Number(args[5]) : 500);
  }
  console.error('usage: node run_onnx.js check <manifest.json> | run <model.onnx> <input.f32> <dims> <output.f32> [rows]');
  return 2;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`run_onnx: ${error.message}`);
  process.exit(1);
});
