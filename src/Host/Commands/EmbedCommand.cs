using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Pooling;
using Pipeline.Host.Cli;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runtime;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline embed`: embeddings of texts from a pooling model (sentence-transformers settings honoured).</summary>
public static class EmbedCommand
{
    public static readonly CommandSpec Spec = new("embed", "Embed texts with a pooling model (BERT-family encoders, decoder embedders, causal LMs converted by --convert embed).", ["[MODEL]"],
    [
        new("input", "text to embed", Repeats: true, Metavar: "TEXT"),
        new("dimensions", "truncate to this many dimensions (Matryoshka), renormalized when normalizing"),
        new("no-normalize", "return the pooled vector without L2 normalization", IsFlag: true),
        new("override-pooler-config", "JSON pooler settings, e.g. {\"pooling_type\":\"CLS\"}", Metavar: "JSON"),
        new("search", "also rank the other inputs by cosine similarity to the first (a semantic-search demo)", IsFlag: true),
        new("output", "json (one line per input) or text", "json"),
        new("max-num-batched-tokens", "token budget of one engine step (default: the larger of max_model_len and 2048)"),
        .. RunnerOptions.Options,
        .. CommonOptions.Model,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        var inputs = args.GetAll("input");
        if (inputs.Count == 0) throw new CliException("give at least one --input TEXT");
        var dir = ModelResolver.Resolve(model, args.Get("revision"));
        var device = TorchRuntime.ResolveDevice(args.Get("device"), args.Get("libtorch"));
        var selection = RunnerOptions.Resolve(args, dir, ModelConfig.Load(dir, args.Get("hf-overrides")).Architecture, poolingCommand: true);
        var tok = HfTokenizer.Load(args.Get("tokenizer") is string t ? ModelResolver.Resolve(t) : dir);
        var (m, _) = Progress.LoadProgress.Load(Progress.LoadProgress.ForCli(), Progress.LoadProgress.Label(dir), args.Get("load-format") == "dummy" ? null : dir,
            () => PoolingModelLoader.Load(dir, new LoadOptions { Dtype = args.Get("dtype")!, LoadFormat = args.Get("load-format")!, HfOverrides = args.Get("hf-overrides") }, device, selection));
        using (m)
        {
            var overrides = args.Get("override-pooler-config") is string j ? PoolerConfig.Parse(j) : null;
            var engine = new PoolingEngine(new PoolingRunner(m, dir, overrides), PoolingEngine.ConfigFor(m.MaxInputLength, args.GetInt("max-num-batched-tokens")));
            var p = new PoolingParams { Dimensions = args.GetInt("dimensions"), Normalize = args.Flag("no-normalize") ? false : null };
            var vectors = engine.Run(inputs.Select(s => new PoolingItem(new PoolingInput(tok.Encode(s)), PoolingTask.Embed, p)).ToList()).Select(r => r[0]).ToArray();
            bool json = args.Choice("output", "json", "text") == "json";
            for (int i = 0; i < inputs.Count; i++)
                Console.Out.WriteLine(json ? Json(inputs[i], vectors[i]) : string.Join(" ", vectors[i].Select(v => v.ToString("F6", CultureInfo.InvariantCulture))));
            if (args.Flag("search") && inputs.Count > 1)
            {
                Console.Out.WriteLine($"query: {inputs[0]}");
                foreach (var (text, score) in Enumerable.Range(1, inputs.Count - 1).Select(i => (inputs[i], Cosine(vectors[0], vectors[i]))).OrderByDescending(x => x.Item2))
                    Console.Out.WriteLine($"  {score:F4}  {text}");
            }
        }
        return 0;
    }

    static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    static string Json(string input, float[] v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("input", input);
            w.WriteStartArray("embedding"); foreach (var x in v) w.WriteNumberValue(x); w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
