using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Host.Cli;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline generate`: run a batch of prompts to completion and print text or JSON lines.</summary>
public static class GenerateCommand
{
    public static readonly CommandSpec Spec = new("generate", "Generate continuations for one or more prompts, all run as one batch.", ["MODEL"],
    [
        new("prompt", "a text prompt (needs the model's tokenizer)", Repeats: true, Metavar: "TEXT"),
        new("prompt-ids", "a prompt as comma-separated token ids", Repeats: true, Metavar: "1,2,3"),
        new("max-tokens", "maximum tokens to generate per prompt", "16"),
        new("min-tokens", "tokens to generate before EOS may stop", "0"),
        new("temperature", "0 = greedy (default: 1.0, or generation_config.json's with --generation-config auto)"),
        new("top-p", "nucleus sampling mass in (0, 1]"),
        new("top-k", "keep only the k most likely tokens (0 or -1: off)"),
        new("ignore-eos", "keep generating after EOS", IsFlag: true),
        new("logprobs", "also return the top-K logprobs of every generated token", Metavar: "K"),
        new("output", "text or json (one line per prompt)", "text"),
        .. CommonOptions.Model,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = args.Positionals.Count > 0 ? args.Positionals[0] : DefaultModel.Path();
        var output = args.Choice("output", "text", "json");
        var textPrompts = args.GetAll("prompt");
        var idPrompts = args.GetAll("prompt-ids");
        if (textPrompts.Count + idPrompts.Count == 0) throw new CliException("give at least one --prompt or --prompt-ids");
        var sp = BuildParams(args);
        using var session = ModelSession.Open(model, args);
        if (session.UseGenerationConfig) sp = ApplyModelDefaults(sp, session, args);
        var prompts = new List<IReadOnlyList<int>>();
        foreach (var t in textPrompts)
        {
            if (session.Tokenizer == null) throw new CliException("--prompt needs a tokenizer, and this model directory has none (or --skip-tokenizer-init was given): use --prompt-ids");
            prompts.Add(session.Tokenizer.Encode(t));
        }
        foreach (var p in idPrompts) prompts.Add(ParseIds(p));
        try { sp.Validate(session.Model.Config.VocabSize); }
        catch (SamplingParamsException e) { throw new CliException($"--{e.Field.Replace('_', '-')}: {e.Message}"); }
        var results = new BatchGenerator(session.Model, maxModelLen: session.MaxModelLen).Generate(prompts, sp, session.EosTokenIds);
        var stdout = Console.Out;
        foreach (var r in results)
        {
            var text = session.Tokenizer?.Decode(r.TokenIds.ToArray(), sp.SkipSpecialTokens) ?? "";
            if (output == "json") stdout.WriteLine(ToJson(r, text, sp.Logprobs));
            else stdout.WriteLine(session.Tokenizer != null ? text : string.Join(",", r.TokenIds));
        }
        return 0;
    }

    static SamplingParams BuildParams(ParsedArgs args) => new()
    {
        MaxTokens = args.GetInt("max-tokens"),
        MinTokens = args.GetInt("min-tokens") ?? 0,
        Temperature = args.GetFloat("temperature") ?? 1.0f,
        TopP = args.GetFloat("top-p") ?? 1.0f,
        TopK = args.GetInt("top-k") ?? 0,
        Seed = args.Has("seed") ? args.GetLong("seed") : null,
        IgnoreEos = args.Flag("ignore-eos"),
        Logprobs = args.GetInt("logprobs"),
    };

    /// <summary>generation_config.json supplies what the user did not set explicitly.</summary>
    static SamplingParams ApplyModelDefaults(SamplingParams sp, ModelSession s, ParsedArgs args)
    {
        var g = s.GenerationConfig;
        return sp with
        {
            Temperature = args.Has("temperature") ? sp.Temperature : g.Temperature ?? sp.Temperature,
            TopP = args.Has("top-p") ? sp.TopP : g.TopP ?? sp.TopP,
            TopK = args.Has("top-k") ? sp.TopK : g.TopK ?? sp.TopK,
            MinP = g.MinP ?? sp.MinP,
            RepetitionPenalty = g.RepetitionPenalty ?? sp.RepetitionPenalty,
        };
    }

    public static int[] ParseIds(string s)
    {
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException("--prompt-ids is empty");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw new CliException($"--prompt-ids: '{p}' is not a token id")).ToArray();
    }

    static string ToJson(GenerationResult r, string text, int? logprobs)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("prompt_token_ids"); foreach (var t in r.PromptTokenIds) w.WriteNumberValue(t); w.WriteEndArray();
            w.WriteStartArray("token_ids"); foreach (var t in r.TokenIds) w.WriteNumberValue(t); w.WriteEndArray();
            w.WriteString("text", text);
            if (logprobs == null) w.WriteNull("logprobs");
            else
            {
                w.WriteStartArray("logprobs");
                foreach (var lp in r.Logprobs)
                {
                    w.WriteStartObject();
                    // vLLM's shape: the top-k plus the sampled token when it is not among them.
                    foreach (var (id, v) in lp!.Top) w.WriteNumber(id.ToString(CultureInfo.InvariantCulture), v);
                    if (!lp.Top.Any(t => t.TokenId == lp.TokenId)) w.WriteNumber(lp.TokenId.ToString(CultureInfo.InvariantCulture), lp.Logprob);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("finish_reason", r.FinishReason);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
