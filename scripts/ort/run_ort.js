#!/usr/bin/env node
// Runs an ONNX model with onnxruntime (CPU, pinned in package.json) on .pb / .npy inputs and
// writes the outputs, for bit-exactness checks of cimtlm's reference executor.
//
//   node run_ort.js MODEL.onnx [--input NAME=FILE]... [--output-dir DIR] [--format pb|npy|both]
//                   [--optimization all|extended|basic|disabled] [--save-optimized FILE.onnx]
//                   [--save-optimized-level all|extended|basic] [--time N]
//
// --time N runs the model N more times after a warm-up and prints the median time of one run
// (microseconds, one CPU thread) as `{"ort_us_per_inference": ...}` on standard output.
// Inputs not given by name are taken in the model's input order from the positional files that
// follow the model (input_0.pb, ...). Outputs are written as output_<k>.pb / output_<k>.npy in
// the model's output order (the layout of ONNX's test data). Sessions use one intra-op and one
// inter-op thread and, unless --optimization says otherwise, onnxruntime's default graph
// optimizations (level "all"), which is what users get. --save-optimized writes the graph
// onnxruntime runs after optimizing at --save-optimized-level (default: the run's level; "extended"
// gives the portable com.microsoft QLinear* form without level "all"'s NHWC layout changes).
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ---------------------------------------------------------------------------------------------
// Element types: ONNX TensorProto.DataType <-> onnxruntime type <-> typed array <-> numpy descr.
const TYPES = {
  1: { ort: 'float32', array: Float32Array, npy: '<f4' },
  2: { ort: 'uint8', array: Uint8Array, npy: '|u1' },
  3: { ort: 'int8', array: Int8Array, npy: '|i1' },
  4: { ort: 'uint16', array: Uint16Array, npy: '<u2' },
  5: { ort: 'int16', array: Int16Array, npy: '<i2' },
  6: { ort: 'int32', array: Int32Array, npy: '<i4' },
  7: { ort: 'int64', array: BigInt64Array, npy: '<i8' },
  9: { ort: 'bool', array: Uint8Array, npy: '|b1' },
  11: { ort: 'float64', array: Float64Array, npy: '<f8' },
  12: { ort: 'uint32', array: Uint32Array, npy: '<u4' },
  13: { ort: 'uint64', array: BigUint64Array, npy: '<u8' },
};
const BY_ORT = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v.ort, Number(k)]));
const BY_NPY = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v.npy, Number(k)]));

function fail(message) {
  process.stderr.write(`run_ort: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Minimal protobuf wire format for onnx.TensorProto.
class Reader {
  constructor(bytes, file) { this.bytes = bytes; this.at = 0; this.file = file; }
  done() { return this.at >= this.bytes.length; }
  varint() {
    let result = 0n, shift = 0n;
    for (;;) {
      if (this.at >= this.bytes.length) fail(`${this.file}: truncated TensorProto`);
      const byte = this.bytes[this.at++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  }
  take(length) {
    if (this.at + length > this.bytes.length) fail(`${this.file}: truncated TensorProto`);
    const slice = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }
}

const signed64 = (value) => BigInt.asIntN(64, value);

function parseTensorProto(bytes, file) {
  const reader = new Reader(bytes, file);
  const tensor = { dims: [], dataType: 0, name: '', raw: null, floats: [], ints32: [], ints64: [],
                   doubles: [], uints64: [] };
  // Repeated numeric field, packed (wire type 2) or not.
  const repeated = (wire, readOne, into) => {
    if (wire === 2) {
      const sub = new Reader(reader.take(Number(reader.varint())), file);
      while (!sub.done()) into.push(readOne(sub));
    } else {
      into.push(readOne(reader));
    }
  };
  const fixed32 = (r) => Buffer.from(r.take(4)).readFloatLE(0);
  const fixed64 = (r) => Buffer.from(r.take(8)).readDoubleLE(0);
  while (!reader.done()) {
    const key = Number(reader.varint());
    const field = key >> 3, wire = key & 7;
    switch (field) {
      case 1: repeated(wire, (r) => Number(signed64(r.varint())), tensor.dims); break;
      case 2: tensor.dataType = Number(reader.varint()); break;
      case 4: repeated(wire, fixed32, tensor.floats); break;
      case 5: repeated(wire, (r) => Number(BigInt.asIntN(32, r.varint())), tensor.ints32); break;
      case 7: repeated(wire, (r) => signed64(r.varint()), tensor.ints64); break;
      case 8: tensor.name = Buffer.from(reader.take(Number(reader.varint()))).toString('utf8'); break;
      case 9: tensor.raw = reader.take(Number(reader.varint())); break;
      case 10: repeated(wire, fixed64, tensor.doubles); break;
      case 11: repeated(wire, (r) => r.varint(), tensor.uints64); break;
      default:  // skip unknown fields
        if (wire === 0) reader.varint();
        else if (wire === 1) reader.take(8);
        else if (wire === 2) reader.take(Number(reader.varint()));
        else if (wire === 5) reader.take(4);
        else fail(`${file}: unsupported wire type ${wire}`);
    }
  }
  const type = TYPES[tensor.dataType];
  if (!type) fail(`${file}: unsupported element type ${tensor.dataType}`);
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  let data;
  if (tensor.raw) {
    const copy = new Uint8Array(tensor.raw);  // aligned copy
    data = new type.array(copy.buffer, 0, count);
  } else {
    data = new type.array(count);
    const source = { 1: tensor.floats, 11: tensor.doubles, 7: tensor.ints64, 12: tensor.uints64,
                     13: tensor.uints64 }[tensor.dataType] || tensor.ints32;
    if (source.length !== count) fail(`${file}: ${source.length} values for ${count} elements`);
    for (let i = 0; i < count; ++i) {
      data[i] = type.array === BigInt64Array || type.array === BigUint64Array ? BigInt(source[i])
                                                                               : Number(source[i]);
    }
  }
  return { name: tensor.name, tensor: new ort.Tensor(type.ort, data, tensor.dims) };
}

function encodeVarint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Buffer.from(out);
}

function serializeTensorProto(tensor, name) {
  const parts = [];
  for (const dim of tensor.dims) parts.push(encodeVarint(1 << 3), encodeVarint(dim));
  parts.push(encodeVarint(2 << 3), encodeVarint(BY_ORT[tensor.type]));
  const nameBytes = Buffer.from(name, 'utf8');
  parts.push(encodeVarint((8 << 3) | 2), encodeVarint(nameBytes.length), nameBytes);
  const raw = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  parts.push(encodeVarint((9 << 3) | 2), encodeVarint(raw.length), raw);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// NumPy .npy (format 1.0-3.0 read, 1.0 written), little-endian, C order.
function parseNpy(bytes, file) {
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`${file}: malformed .npy header`);
  if (fortran[1] === 'True') fail(`${file}: Fortran order is not supported`);
  let code = descr[1];
  if (code.length === 3 && code[2] === '1') code = '|' + code.slice(1);
  if (code[0] === '=') code = '<' + code.slice(1);
  const dataType = BY_NPY[code];
  if (!dataType) fail(`${file}: dtype ${descr[1]} is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = TYPES[dataType];
  const payload = new Uint8Array(bytes.subarray(start + headerLength));
  if (payload.length !== count * type.array.BYTES_PER_ELEMENT) fail(`${file}: data size mismatch`);
  return new ort.Tensor(type.ort, new type.array(payload.buffer, 0, count), dims);
}

function serializeNpy(tensor) {
  const descr = TYPES[BY_ORT[tensor.type]].npy;
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = 1;
  preamble[7] = 0;
  preamble.writeUInt16LE(header.length, 8);
  const raw = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), raw]);
}

function loadTensor(file) {
  const bytes = fs.readFileSync(file);
  if (file.endsWith('.npy')) return { name: '', tensor: parseNpy(bytes, file) };
  if (file.endsWith('.pb')) return parseTensorProto(bytes, file);
  fail(`${file}: expected a .pb or .npy file`);
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const args = process.argv.slice(2);
  if (!args.length || args[0] === '--help') {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 17).join('\n') + '\n');
    process.exit(args.length ? 0 : 2);
  }
  const model = args.shift();
  const named = {};
  const positional = [];
  let outputDir = '.', format = 'pb', optimization = 'all', saveOptimized = null, saveLevel = null;
  let timeRuns = 0;
  while (args.length) {
    const arg = args.shift();
    if (arg === '--input') {
      const [name, file] = args.shift().split(/=(.*)/s);
      named[name] = file;
    } else if (arg === '--output-dir') outputDir = args.shift();
    else if (arg === '--format') format = args.shift();
    else if (arg === '--optimization') optimization = args.shift();
    else if (arg === '--save-optimized') saveOptimized = args.shift();
    else if (arg === '--save-optimized-level') saveLevel = args.shift();
    else if (arg === '--time') timeRuns = parseInt(args.shift(), 10);
    else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
                    graphOptimizationLevel: optimization };
  if (saveOptimized && (!saveLevel || saveLevel === optimization)) {
    options.optimizedModelFilePath = saveOptimized;
  } else if (saveOptimized) {
    await ort.InferenceSession.create(model, { ...options, graphOptimizationLevel: saveLevel,
                                               optimizedModelFilePath: saveOptimized });
  }
  const session = await ort.InferenceSession.create(model, options);
  const feeds = {};
  session.inputNames.forEach((name, index) => {
    const file = named[name] || positional[index];
    if (!file) fail(`no value for model input '${name}'`);
    feeds[name] = loadTensor(file).tensor;
  });
  const results = await session.run(feeds);
  if (timeRuns > 0) {
    const samples = [];
    for (let run = 0; run < timeRuns; ++run) {
      const begin = process.hrtime.bigint();
      await session.run(feeds);
      samples.push(Number(process.hrtime.bigint() - begin) / 1000);
    }
    samples.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ ort_us_per_inference: samples[Math.floor(samples.length / 2)] }) + '\n');
  }
  fs.mkdirSync(outputDir, { recursive: true });
  session.outputNames.forEach((name, index) => {
    const tensor = results[name];
    if (format === 'pb' || format === 'both') {
      fs.writeFileSync(path.join(outputDir, `output_${index}.pb`), serializeTensorProto(tensor, name));
    }
    if (format === 'npy' || format === 'both') {
      fs.writeFileSync(path.join(outputDir, `output_${index}.npy`), serializeNpy(tensor));
    }
  });
}

main().catch((error) => fail(error.message || String(error)));
