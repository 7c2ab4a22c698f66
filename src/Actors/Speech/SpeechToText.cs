using System.Runtime.CompilerServices;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Config;
using Pipeline.Models.Multimodal.Audio;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Speech;

/// <summary>Runs one engine request and streams its outputs (cumulative): the in-process engine, the actor pipeline, a test double.</summary>
public delegate IAsyncEnumerable<RequestOutput> GenerateRequest(PromptInput prompt, SamplingParams sp, CancellationToken ct);

/// <summary>
/// Whisper transcription and translation over the engine (vLLM's speech-to-text serving): the audio is decoded and cut
/// into 30 s windows; when no language is given it is detected from the first window (a one-token request
/// restricted to the language tokens, which is transformers' detect_language under greedy decoding); each window is
/// then one engine request whose prompt is the decoder prompt and whose audio the encoder reads; the windows' texts
/// are joined. Timestamp tokens become segments and never reach the text.
/// </summary>
public sealed class SpeechToText
{
    readonly HfTokenizer _tokenizer;
    readonly GenerateRequest _generate;

    public SpeechToText(WhisperGenerationConfig whisper, HfTokenizer tokenizer, SpeechAudioProcessor audio, int maxModelLen, GenerateRequest generate)
    {
        Whisper = whisper;
        _tokenizer = tokenizer;
        Audio = audio;
        MaxModelLen = maxModelLen;
        _generate = generate;
    }

    /// <summary>The speech-to-text layer of a loaded Whisper model; null when the model is not one.</summary>
    public static SpeechToText? For(ModelContext ctx, GenerateRequest generate, double maxAudioSeconds = AudioDecoder.DefaultMaxSeconds)
    {
        if (ctx.Model is not Pipeline.Models.Architectures.IEncoderDecoderModel encdec) return null;
        var tokenizer = ctx.Tokenizer ?? throw new ModelConfigException("a Whisper model needs its tokenizer (tokenizer.json)");
        var features = new WhisperFeatureExtractor(WhisperFeatureConfig.FromDirectory(ctx.ModelDir, encdec.NumMelBins));
        return new SpeechToText(WhisperGenerationConfig.Load(ctx.ModelDir), tokenizer, new SpeechAudioProcessor(features, maxAudioSeconds),
            ctx.MaxModelLen, generate);
    }

    /// <summary>The same model's speech-to-text over another engine call (the config, tokenizer and extractor are shared).</summary>
    public SpeechToText With(GenerateRequest generate) => new(Whisper, _tokenizer, Audio, MaxModelLen, generate);

    public WhisperGenerationConfig Whisper { get; }
    public SpeechAudioProcessor Audio { get; }
    public int MaxModelLen { get; }

    /// <summary>Checks the request's fields before any audio work; throws <see cref="SamplingParamsException"/> naming the field.</summary>
    public void Validate(SpeechToTextParams p)
    {
        if (p.Task is not ("transcribe" or "translate")) throw new SamplingParamsException("task", $"task must be transcribe or translate, not '{p.Task}'");
        if (p.Language != null) Whisper.LanguageTokenId(p.Language);
        if (p.Temperature < 0) throw new SamplingParamsException("temperature", $"temperature must be >= 0, got {p.Temperature}");
        if (p.MaxTokens is < 1) throw new SamplingParamsException("max_completion_tokens", $"must be at least 1, got {p.MaxTokens}");
    }

    public async IAsyncEnumerable<SpeechOutput> RunAsync(byte[] audio, SpeechToTextParams p, [EnumeratorCancellation] CancellationToken ct = default)
    {
        Validate(p);
        var (chunks, seconds) = await Task.Run(() => Audio.Process(audio), ct).ConfigureAwait(false);
        int? language = p.Language is { } l ? Whisper.LanguageTokenId(l) : null;
        int promptTokens = 0, completionTokens = 0;
        if (language == null && Whisper.IsMultilingual && Whisper.LangToId.Count > 0)
        {
            language = await DetectLanguageAsync(chunks[0], ct).ConfigureAwait(false);
            promptTokens += 1;
        }
        IReadOnlyList<int>? previous = p.Prompt is { Length: > 0 } text ? _tokenizer.Encode(" " + text.Trim()) : null;
        var texts = new List<string>();
        var chunkTokens = new List<IReadOnlyList<int>>();
        var chunkLogprobs = new List<IReadOnlyList<TokenLogprobs>?>();
        var segments = new List<TranscriptionSegment>();
        string? finish = null;
        double offset = 0;
        for (int c = 0; c < chunks.Count; c++)
        {
            var prompt = Whisper.DecoderPrompt(language, p.Task, p.Timestamps, previous);
            if (prompt.Length >= MaxModelLen)
                throw new SamplingParamsException("prompt", $"the decoder prompt has {prompt.Length} tokens, but the decoder takes {MaxModelLen}");
            var sp = new SamplingParams
            {
                Temperature = p.Temperature, TopP = p.TopP, TopK = p.TopK, Seed = p.Seed, Logprobs = p.Logprobs,
                MaxTokens = Math.Min(p.MaxTokens ?? int.MaxValue, MaxModelLen - prompt.Length),
                MinTokens = p.MinTokens,
                Whisper = Whisper.DecodingParams(p.Timestamps),
            };
            IReadOnlyList<int> tokens = [];
            IReadOnlyList<TokenLogprobs>? logprobs = null;
            string sent = "";
            int sentTokens = 0;
            await foreach (var o in _generate(new PromptInput(null, prompt) { Audio = chunks[c] }, sp, ct).ConfigureAwait(false))
            {
                var output = o.Outputs[0];
                tokens = output.TokenIds;
                logprobs = output.Logprobs;
                finish = output.FinishReason ?? finish;
                var now = Text(tokens);
                if (now.Length > sent.Length && now.StartsWith(sent, StringComparison.Ordinal) && !now.EndsWith('\uFFFD'))
                {
                    yield return new SpeechOutput(now[sent.Length..], tokens.Skip(sentTokens).ToArray());
                    sent = now;
                    sentTokens = tokens.Count;
                }
            }
            // The rest of the window: text held back (an incomplete character) and tokens that added no text
            // (timestamps, end of text), so that the deltas add up to the result's text and tokens.
            var chunkText = Text(tokens);
            var rest = chunkText.Length > sent.Length && chunkText.StartsWith(sent, StringComparison.Ordinal) ? chunkText[sent.Length..] : "";
            if (rest.Length > 0 || tokens.Count > sentTokens) yield return new SpeechOutput(rest, tokens.Skip(sentTokens).ToArray());
            texts.Add(chunkText);
            chunkTokens.Add(tokens);
            chunkLogprobs.Add(logprobs);
            promptTokens += prompt.Length;
            completionTokens += tokens.Count;
            if (p.Timestamps) segments.AddRange(Segments(tokens, logprobs, offset, chunks[c].Seconds, segments.Count));
            offset += chunks[c].Seconds;
        }
        var code = language is int id ? Whisper.LanguageOf(id) ?? "" : "en";
        yield return new SpeechOutput("", [], new TranscriptionResult(string.Concat(texts), code, seconds, segments, chunkTokens,
            chunkLogprobs, promptTokens, completionTokens, finish));
    }

    /// <summary>The language token transformers' detect_language picks: the likeliest language token after &lt;|startoftranscript|&gt;.</summary>
    public async Task<int> DetectLanguageAsync(ProcessedAudio audio, CancellationToken ct)
    {
        var sp = new SamplingParams { Temperature = 0, MaxTokens = 1, AllowedTokenIds = Whisper.LangToId.Values.ToList() };
        int? token = null;
        await foreach (var o in _generate(new PromptInput(null, [Whisper.DecoderStartTokenId]) { Audio = audio }, sp, ct).ConfigureAwait(false))
            if (o.Outputs[0].TokenIds.Count > 0) token = o.Outputs[0].TokenIds[0];
        return token ?? throw new InvalidOperationException("language detection produced no token");
    }

    /// <summary>The text of generated tokens: timestamps and special tokens left out.</summary>
    public string Text(IReadOnlyList<int> tokens) =>
        _tokenizer.Decode(tokens.Where(t => t < Whisper.TimestampBegin).ToArray(), skipSpecialTokens: true);

    /// <summary>
    /// Segments from timestamp pairs (&lt;|start|&gt; text &lt;|end|&gt;), shifted by the chunk's offset; text after the last
    /// timestamp ends at the chunk's end.
    /// </summary>
    public IReadOnlyList<TranscriptionSegment> Segments(IReadOnlyList<int> tokens, IReadOnlyList<TokenLogprobs>? logprobs, double offset,
        double chunkSeconds, int firstId = 0)
    {
        var result = new List<TranscriptionSegment>();
        int tb = Whisper.TimestampBegin, seek = (int)Math.Round(offset * 100);
        double? start = null;
        var text = new List<int>();
        var lps = new List<double>();
        void Add(double s, double e)
        {
            if (text.Count == 0) return;
            result.Add(new TranscriptionSegment(firstId + result.Count, offset + s, offset + e, Text(text), text.ToArray(),
                lps.Count > 0 ? lps.Average() : 0, seek));
            text.Clear();
            lps.Clear();
        }
        for (int i = 0; i < tokens.Count; i++)
        {
            int t = tokens[i];
            if (t >= tb)
            {
                double time = (t - tb) * WhisperGenerationConfig.TimePrecision;
                if (start is double s) { Add(s, time); start = null; }
                else { Add(0, time); start = time; }
            }
            else if (t != Whisper.EosTokenId)
            {
                text.Add(t);
                if (logprobs != null && i < logprobs.Count) lps.Add(logprobs[i].Logprob);
            }
        }
        Add(start ?? 0, chunkSeconds);
        return result;
    }
}
