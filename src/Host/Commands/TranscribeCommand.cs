using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Speech;
using Pipeline.Host.Cli;
using Pipeline.Host.Progress;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline transcribe FILE...`: speech to text with a Whisper model, one line per file.</summary>
public static class TranscribeCommand
{
    public static readonly CommandSpec Spec = new("transcribe", "Transcribe or translate audio files (WAV, FLAC, MP3, OGG Vorbis) with a Whisper model.", ["FILE..."],
    [
        new("model", "the Whisper model directory or Hugging Face id", Metavar: "MODEL"),
        new("language", "the spoken language (code such as en, or a name); detected when not given", Metavar: "L"),
        new("task", "transcribe, or translate (to English)", "transcribe"),
        new("timestamps", "segment timestamps (text output: one [start --> end] line per segment)", IsFlag: true),
        new("prompt", "text of a previous window to condition on", Metavar: "TEXT"),
        new("temperature", "0 = greedy", "0"),
        new("max-tokens", "maximum tokens per 30 s window"),
        new("min-tokens", "tokens per window before end of text may stop it", "0"),
        new("timing", "print each file's latency (decode, features, encoder and generation) to stderr", IsFlag: true),
        new("logprobs", "also return the top-K logprobs of every generated token (json output)", Metavar: "K"),
        new("output", "text or json (one line per file: token_ids, text, logprobs, ...)", "text"),
        .. CommonOptions.Model,
        .. CommonOptions.Engine,
    ]);

    public static async Task<int> RunAsync(ParsedArgs args)
    {
        if (args.Positionals.Count == 0) throw new CliException("give at least one audio FILE");
        foreach (var f in args.Positionals) if (!File.Exists(f)) throw new CliException($"{f}: no such file");
        var model = args.Get("model") ?? throw new CliException("--model is required: a Whisper model directory");
        var output = args.Choice("output", "text", "json");
        var task = args.Choice("task", "transcribe", "translate");
        var engineArgs = CommonOptions.ToEngineArgs(args, model);
        var dir = LoadProgress.TryResolve(model, engineArgs.Revision);
        using var llm = LoadProgress.Load(LoadProgress.ForCli(), LoadProgress.Label(dir ?? model), engineArgs.LoadFormat == "dummy" ? null : dir, () => new LLM(engineArgs));
        var stt = SpeechToText.For(llm.Context, (prompt, sp, ct) => One(llm.Generate([prompt], sp)[0]))
            ?? throw new CliException($"{model} is not a speech-to-text model ({llm.Context.Model.Config.Architecture})");
        var p = new SpeechToTextParams
        {
            Task = task,
            Language = args.Get("language"),
            Prompt = args.Get("prompt"),
            Timestamps = args.Flag("timestamps"),
            Temperature = args.GetFloat("temperature") ?? 0f,
            MaxTokens = args.GetInt("max-tokens"),
            MinTokens = args.GetInt("min-tokens") ?? 0,
            Logprobs = args.GetInt("logprobs"),
            Seed = args.Has("seed") ? args.GetLong("seed") : null,
        };
        foreach (var file in args.Positionals)
        {
            TranscriptionResult? result = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await foreach (var o in stt.RunAsync(File.ReadAllBytes(file), p)) result = o.Result ?? result;
            }
            catch (SamplingParamsException e) { throw new CliException($"--{e.Field.Replace('_', '-')}: {e.Message}"); }
            catch (Pipeline.Models.Multimodal.MediaException e) { throw new CliException($"{file}: {e.Message}"); }
            if (args.Flag("timing"))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"timing {file}: latency_s {clock.Elapsed.TotalSeconds:F4} tokens {result!.CompletionTokens} audio_s {result.Duration:F2}"));
            Console.Out.WriteLine(output == "json" ? ToJson(file, result!, p.Logprobs)
                : p.Timestamps && result!.Segments.Count > 0
                    ? string.Join("\n", result.Segments.Select(s => string.Create(CultureInfo.InvariantCulture, $"[{s.Start:0.00} --> {s.End:0.00}] {s.Text.Trim()}")))
                    : result!.Text);
        }
        return 0;
    }

    static async IAsyncEnumerable<RequestOutput> One(RequestOutput o, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.CompletedTask;
        yield return o;
    }

    /// <summary>One line per file, as `generate --output json` prints: token_ids (all windows), text, logprobs, and the speech fields.</summary>
    static string ToJson(string file, TranscriptionResult r, int? logprobs)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("file", file);
            w.WriteStartArray("token_ids"); foreach (var t in r.ChunkTokenIds.SelectMany(c => c)) w.WriteNumberValue(t); w.WriteEndArray();
            w.WriteString("text", r.Text);
            if (logprobs == null) w.WriteNull("logprobs");
            else
            {
                w.WriteStartArray("logprobs");
                foreach (var lp in r.ChunkLogprobs.SelectMany(c => c ?? []))
                {
                    w.WriteStartObject();
                    foreach (var (id, v) in lp.Top) w.WriteNumber(id.ToString(CultureInfo.InvariantCulture), v);
                    if (!lp.Top.Any(t => t.TokenId == lp.TokenId)) w.WriteNumber(lp.TokenId.ToString(CultureInfo.InvariantCulture), lp.Logprob);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteString("language", r.Language);
            w.WriteNumber("duration", Math.Round(r.Duration, 3));
            w.WriteStartArray("segments");
            foreach (var s in r.Segments)
            {
                w.WriteStartObject();
                w.WriteNumber("start", Math.Round(s.Start, 2)); w.WriteNumber("end", Math.Round(s.End, 2)); w.WriteString("text", s.Text);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("finish_reason", r.FinishReason);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
