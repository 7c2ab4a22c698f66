using System.Text.Json;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runtime;
using TorchSharp;

// Runs every pooling fixture (tests/fixtures/pooling) on a device and dtype and prints, per variant, the largest
// difference from transformers' float32 hidden states / logits, plus batched-vs-alone. For checking CUDA builds.
// Usage: PoolingCheck [FIXTURE_ROOT] [--device cuda] [--dtype float32]
string root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !IsOptionValue(a)) ?? "tests/fixtures/pooling";
string deviceName = Option("--device") ?? "cuda";
string dtype = Option("--dtype") ?? "float32";
var device = TorchRuntime.ResolveDevice(deviceName);
int bad = 0;
foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
{
    using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
    // Cross-encoder fixtures list text "pairs" (token type ids, one raw "score"); the others "inputs".
    var fixture = doc.RootElement;
    var inputs = (fixture.TryGetProperty("inputs", out var ins) ? ins : fixture.GetProperty("pairs")).EnumerateArray().ToList();
    var ids = inputs.Select(e => e.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToList();
    var pooled = inputs.Select((e, i) => new PoolingInput(ids[i], e.TryGetProperty("token_type_ids", out var t) ? t.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null)).ToList();
    var (model, _) = PoolingModelLoader.Load(dir, new LoadOptions { Dtype = dtype }, device);
    using (model)
    {
        var runner = new PoolingRunner(model);
        double maxDiff = 0, maxBatch = 0;
        if (model.NumLabels > 0)
        {
            var logits = runner.Classify(pooled, PoolingTask.Classify, new PoolingParams { Activation = false });
            for (int i = 0; i < ids.Count; i++)
            {
                var want = inputs[i].TryGetProperty("logits", out var l) ? l.EnumerateArray().Select(x => x.GetSingle()).ToArray() : [inputs[i].GetProperty("score").GetSingle()];
                maxDiff = Math.Max(maxDiff, want.Zip(logits[i]).Max(p => Math.Abs(p.First - p.Second)));
                var alone = runner.Classify([pooled[i]], PoolingTask.Classify, new PoolingParams { Activation = false })[0];
                maxBatch = Math.Max(maxBatch, alone.Zip(logits[i]).Max(p => Math.Abs(p.First - p.Second)));
            }
        }
        else
        {
            var rows = runner.EncodeTokens(ids, new PoolingParams { PoolingType = PoolingType.ALL });
            for (int i = 0; i < ids.Count; i++)
            {
                var want = (inputs[i].TryGetProperty("last_hidden_state", out var h) ? h : inputs[i].GetProperty("rewards")).EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
                for (int t = 0; t < want.Length; t++) maxDiff = Math.Max(maxDiff, want[t].Zip(rows[i][t]).Max(p => Math.Abs(p.First - p.Second)));
                var alone = runner.EncodeTokens([ids[i]], new PoolingParams { PoolingType = PoolingType.ALL })[0];
                for (int t = 0; t < want.Length; t++) maxBatch = Math.Max(maxBatch, alone[t].Zip(rows[i][t]).Max(p => Math.Abs(p.First - p.Second)));
            }
        }
        double tol = dtype == "float32" ? 1e-4 : 0.1;
        bool ok = maxDiff <= tol && maxBatch <= tol;
        bad += ok ? 0 : 1;
        Console.WriteLine($"{Path.GetFileName(dir)} ({model.Config.Architecture}) on {deviceName} {dtype}: max |diff| vs transformers {maxDiff:E2}, batched vs alone {maxBatch:E2} {(ok ? "OK" : "FAIL")}");
    }
}
return bad == 0 ? 0 : 1;

string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
bool IsOptionValue(string a) => Array.IndexOf(args, a) is int i and > 0 && args[i - 1].StartsWith("--", StringComparison.Ordinal);
