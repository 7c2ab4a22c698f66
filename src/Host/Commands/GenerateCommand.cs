using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Host.Cli;
using Pipeline.Host.Progress;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline generate`: run prompts through the engine (one batch) and print text or JSON lines.</summary>
public static class GenerateCommand
{
    public static readonly CommandSpec Spec = new("generate", "Generate continuations for one or more prompts, all run as one batch (default model: the built-in pipeline-tiny-en).", ["[MODEL]"],
    [
        new("prompt", "a text prompt (needs the model's tokenizer)", Repeats: true, Metavar: "TEXT"),
        new("prompt-ids", "a prompt as comma-separated token ids", Repeats: true, Metavar: "1,2,3"),
        new("image", "an image file (PNG, JPEG, WebP, GIF, BMP) given with each prompt; the prompt holds the model's image token once per --image", Repeats: true, Metavar: "FILE"),
        new("audio", "an audio file (WAV, FLAC, MP3, Ogg Vorbis) given with each prompt to an audio-language model; the prompt holds its audio token once per --audio", Repeats: true, Metavar: "FILE"),
        new("max-tokens", "maximum tokens to generate per prompt", "16"),
        new("min-tokens", "tokens to generate before EOS may stop", "0"),
        new("temperature", "0 = greedy (default: 1.0, or generation_config.json's with --generation-config auto)"),
        new("top-p", "nucleus sampling mass in (0, 1]"),
        new("top-k", "keep only the k most likely tokens (0 or -1: off)"),
        new("min-p", "drop tokens below this fraction of the top token's probability"),
        new("repetition-penalty", "> 1 discourages repeating prompt and output tokens"),
        new("stop", "stop string (text is cut before it)", Repeats: true),
        new("n", "samples per prompt", "1"),
        new("ignore-eos", "keep generating after EOS", IsFlag: true),
        new("logprobs", "also return the top-K logprobs of every generated token", Metavar: "K"),
        new("output", "text or json (one line per prompt)", "text"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
    ]);

    public static int Run(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        var output = args.Choice("output", "text", "json");
        var prompts = args.GetAll("prompt").Select(PromptInput.FromText)
            .Concat(args.GetAll("prompt-ids").Select(p => PromptInput.FromIds(ParseIds(p)))).ToList();
        if (prompts.Count == 0) throw new CliException("give at least one --prompt or --prompt-ids");
        var images = args.GetAll("image").Select(f => File.Exists(f) ? ImageInput.FromFile(f) : throw new CliException($"--image {f}: no such file")).ToList();
        if (images.Count > 0) prompts = prompts.Select(p => p with { Images = images }).ToList();
        var clips = args.GetAll("audio").Select(f => File.Exists(f) ? AudioInput.FromFile(f) : throw new CliException($"--audio {f}: no such file")).ToList();
        if (clips.Count > 0) prompts = prompts.Select(p => p with { AudioClips = clips }).ToList();
        var engineArgs = CommonOptions.ToEngineArgs(args, model);
        var dir = LoadProgress.TryResolve(model, engineArgs.Revision);
        using var llm = LoadProgress.Load(LoadProgress.ForCli(), LoadProgress.Label(dir ?? model), engineArgs.LoadFormat == "dummy" ? null : dir, () => new LLM(engineArgs));
        if (llm.Context.Tokenizer == null && args.GetAll("prompt").Count > 0)
            throw new CliException("--prompt needs a tokenizer, and this model directory has none (or --skip-tokenizer-init was given): use --prompt-ids");
        int vocab = llm.Context.Model.Config.VocabSize;
        foreach (var ids in prompts.Where(p => p.TokenIds != null).Select(p => p.TokenIds!))
            foreach (var id in ids)
                if (id >= vocab) throw new CliException($"--prompt-ids: token id {id} is out of vocabulary (size {vocab})");
        var baseline = BuildParams(args);
        var sp = llm.Context.UseGenerationConfig ? Merge(baseline, llm.DefaultSamplingParams(), args) : baseline;
        var seed = args.Has("seed") ? args.GetLong("seed") : null;
        var perPrompt = prompts.Select((_, i) => sp with { Seed = seed is long s ? s + i : null }).ToList();
        IReadOnlyList<RequestOutput> results;
        try { results = llm.Generate(prompts, perPrompt); }
        catch (SamplingParamsException e) { throw new CliException($"--{e.Field.Replace('_', '-')}: {e.Message}"); }
        catch (Pipeline.Models.Multimodal.MediaException e) { throw new CliException($"{(clips.Count > 0 && images.Count == 0 ? "--audio" : "--image")}: {e.Message}"); }
        foreach (var r in results)
            foreach (var o in r.Outputs)
                Console.Out.WriteLine(output == "json" ? ToJson(r, o, sp.Logprobs) : llm.Context.Tokenizer != null ? o.Text : string.Join(",", o.TokenIds));
        return 0;
    }

    static SamplingParams BuildParams(ParsedArgs args) => new()
    {
        N = args.Int("n"),
        MaxTokens = args.GetInt("max-tokens"),
        MinTokens = args.GetInt("min-tokens") ?? 0,
        Temperature = args.GetFloat("temperature") ?? 1.0f,
        TopP = args.GetFloat("top-p") ?? 1.0f,
        TopK = args.GetInt("top-k") ?? 0,
        MinP = args.GetFloat("min-p") ?? 0f,
        RepetitionPenalty = args.GetFloat("repetition-penalty") ?? 1.0f,
        Stop = args.GetAll("stop").ToArray(),
        IgnoreEos = args.Flag("ignore-eos"),
        Logprobs = args.GetInt("logprobs"),
    };

    /// <summary>The model's defaults fill what the user did not set explicitly.</summary>
    static SamplingParams Merge(SamplingParams user, SamplingParams model, ParsedArgs args) => user with
    {
        Temperature = args.Has("temperature") ? user.Temperature : model.Temperature,
        TopP = args.Has("top-p") ? user.TopP : model.TopP,
        TopK = args.Has("top-k") ? user.TopK : model.TopK,
        MinP = args.Has("min-p") ? user.MinP : model.MinP,
        RepetitionPenalty = args.Has("repetition-penalty") ? user.RepetitionPenalty : model.RepetitionPenalty,
    };

    /// <summary>Comma-separated token ids; errors name <paramref name="option"/>, the option they came from.</summary>
    public static int[] ParseIds(string s, string option = "prompt-ids")
    {
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException($"--{option} is empty");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw new CliException($"--{option}: '{p}' is not a token id")).ToArray();
    }

    static string ToJson(RequestOutput r, CompletionOutput o, int? logprobs)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("prompt_token_ids"); foreach (var t in r.PromptTokenIds) w.WriteNumberValue(t); w.WriteEndArray();
            w.WriteStartArray("token_ids"); foreach (var t in o.TokenIds) w.WriteNumberValue(t); w.WriteEndArray();
            w.WriteString("text", o.Text);
            if (logprobs == null || o.Logprobs == null) w.WriteNull("logprobs");
            else
            {
                w.WriteStartArray("logprobs");
                foreach (var lp in o.Logprobs)
                {
                    w.WriteStartObject();
                    // vLLM's shape: the top-k plus the sampled token when it is not among them.
                    foreach (var (id, v) in lp.Top) w.WriteNumber(id.ToString(CultureInfo.InvariantCulture), v);
                    if (!lp.Top.Any(t => t.TokenId == lp.TokenId)) w.WriteNumber(lp.TokenId.ToString(CultureInfo.InvariantCulture), lp.Logprob);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("finish_reason", o.FinishReason);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
