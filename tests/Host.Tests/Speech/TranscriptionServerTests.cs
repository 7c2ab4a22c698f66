using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Audio;

namespace Pipeline.Host.Tests.Speech;

/// <summary>`pipeline serve` over the tiny random Whisper made by transformers (scripts/fixtures/make_whisper_fixtures.py).</summary>
public sealed class WhisperServer : ServerFixture
{
    public static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio", "reference", "models", "whisper-tiny");
    public static bool Available => File.Exists(Path.Combine(Dir, "expected.json"));
    public override string ModelDir => Dir;
    protected override string[] ServeArgs => ["--dtype", "float32", "--device", "cpu"];
    public override Task InitializeAsync() => Available ? base.InitializeAsync() : Task.CompletedTask;
}

/// <summary>
/// /v1/audio/transcriptions and /v1/audio/translations through the official OpenAI .NET client's AudioClient, checked
/// against transformers' greedy generate on the same clips (its tokens decoded by the fixture's tokenizer), plus
/// vLLM-style streaming and the 400s for bad input.
/// </summary>
public class TranscriptionServerTests(WhisperServer server) : IClassFixture<WhisperServer>
{
    static readonly string Clips = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio");

    AudioClient Client() => new(ServerFixture.ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseUrl + "/v1") });

    /// <summary>The fixture case's text as transformers' tokens spell it (timestamp tokens left out).</summary>
    static string ExpectedText(string clip, string? language, string task, bool timestamps)
    {
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(WhisperServer.Dir, "expected.json")))!["cases"]!.AsArray()
            .First(c => c!["clip"]!.GetValue<string>() == clip && c["language"]?.GetValue<string>() == language
                        && c["task"]!.GetValue<string>() == task && c["timestamps"]!.GetValue<bool>() == timestamps)!;
        var tokenizer = Pipeline.Models.Tokenizers.HfTokenizer.Load(WhisperServer.Dir);
        int tb = tokenizer.TokenToId("<|0.00|>")!.Value;
        return tokenizer.Decode(c["token_ids"]!.AsArray().Select(x => x!.GetValue<int>()).Where(t => t < tb).ToArray(), skipSpecialTokens: true);
    }

    [Fact]
    public async Task Transcription_json_and_verbose_json_through_the_OpenAI_client()
    {
        if (!WhisperServer.Available) return;
        var client = Client();
        await using (var audio = File.OpenRead(Path.Combine(Clips, "en_16k_s16.wav")))
        {
            var result = await client.TranscribeAudioAsync(audio, "en_16k_s16.wav", new AudioTranscriptionOptions { Language = "en" });
            Assert.Equal(ExpectedText("en_16k_s16.wav", "en", "transcribe", false), result.Value.Text);
        }
        await using (var audio = File.OpenRead(Path.Combine(Clips, "en_16k_s16.wav")))
        {
            var verbose = await client.TranscribeAudioAsync(audio, "en_16k_s16.wav", new AudioTranscriptionOptions
            {
                Language = "en", ResponseFormat = AudioTranscriptionFormat.Verbose, TimestampGranularities = AudioTimestampGranularities.Segment,
            });
            // transformers' fixture stopped at 24 tokens; the server generates until end of text or max_model_len
            Assert.StartsWith(ExpectedText("en_16k_s16.wav", "en", "transcribe", true), verbose.Value.Text);
            Assert.Equal("english", verbose.Value.Language);
            Assert.InRange(verbose.Value.Duration!.Value.TotalSeconds, 2.0, 2.2);
            foreach (var s in verbose.Value.Segments) Assert.True(s.EndTime >= s.StartTime);
        }
    }

    [Fact]
    public async Task Translation_detects_the_language_through_the_OpenAI_client()
    {
        if (!WhisperServer.Available) return;
        await using var audio = File.OpenRead(Path.Combine(Clips, "en_8k_s16.wav"));
        var result = await Client().TranslateAudioAsync(audio, "en_8k_s16.wav", new AudioTranslationOptions { ResponseFormat = AudioTranslationFormat.Verbose });
        Assert.StartsWith(ExpectedText("en_8k_s16.wav", null, "translate", true), result.Value.Text);
    }

    [Fact]
    public void Queue_publish_audio_follows_the_transcription_through_the_servers_in_process_queue()
    {
        if (!WhisperServer.Available) return;
        var (exit, stdout, stderr) = PipelineProcess.Run("queue", "publish", "--audio", Path.Combine(Clips, "en_16k_s16.wav"), "--language", "en",
            "--max-tokens", "24", "--temperature", "0", "--id", "cli-audio-1", "--follow", "--output", "json", "--queue", server.BaseUrl);
        Assert.True(exit == 0, stderr);
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Pipeline.Host.Queue.QueueEvent.Parse(Encoding.UTF8.GetBytes(l))).ToList();
        var final = Pipeline.Host.Tests.Queue.EventLog.CheckStream(events);
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(WhisperServer.Dir, "expected.json")))!["cases"]!.AsArray()
            .First(c => c!["clip"]!.GetValue<string>() == "en_16k_s16.wav" && c["language"]?.GetValue<string>() == "en" && !c["timestamps"]!.GetValue<bool>())!;
        Assert.Equal(c["token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), Pipeline.Host.Tests.Queue.EventLog.FinalTokens(final));
        Assert.Equal(ExpectedText("en_16k_s16.wav", "en", "transcribe", false), final.Json.GetProperty("response").GetProperty("text").GetString());
    }

    static MultipartFormDataContent Form(byte[] audio, string name, params (string Key, string Value)[] fields)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(audio), "file", name } };
        foreach (var (k, v) in fields) form.Add(new StringContent(v), k);
        return form;
    }

    [Fact]
    public async Task Streaming_sends_transcription_chunks_then_done()
    {
        if (!WhisperServer.Available) return;
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Clips, "de_16k_s16.flac"));
        using var resp = await server.Http.PostAsync(server.BaseUrl + "/v1/audio/transcriptions",
            Form(bytes, "de.flac", ("language", "de"), ("stream", "true"), ("max_completion_tokens", "24"), ("stream_include_usage", "true"), ("response_format", "verbose_json")));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var body = await resp.Content.ReadAsStringAsync();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("transcription.chunk", c["object"]!.GetValue<string>()));
        var text = string.Concat(chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]!["content"]?.GetValue<string>() ?? ""));
        Assert.Equal(ExpectedText("de_16k_s16.flac", "de", "transcribe", true), text);
        Assert.Contains(chunks, c => c["choices"]!.AsArray().Any(ch => ch!["finish_reason"] != null));
        var usage = chunks[^1]["usage"]!;
        Assert.True(usage["completion_tokens"]!.GetValue<int>() > 0);
    }

    [Fact]
    public async Task Text_srt_and_vtt_formats()
    {
        if (!WhisperServer.Available) return;
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Clips, "en_16k_s16.wav"));
        using var text = await server.Http.PostAsync(server.BaseUrl + "/v1/audio/transcriptions", Form(bytes, "a.wav", ("language", "en"), ("response_format", "text")));
        Assert.Equal(ExpectedText("en_16k_s16.wav", "en", "transcribe", false), await text.Content.ReadAsStringAsync());
        using var srt = await server.Http.PostAsync(server.BaseUrl + "/v1/audio/transcriptions", Form(bytes, "a.wav", ("language", "en"), ("response_format", "srt")));
        Assert.StartsWith("1\n00:00:", await srt.Content.ReadAsStringAsync());
        using var vtt = await server.Http.PostAsync(server.BaseUrl + "/v1/audio/transcriptions", Form(bytes, "a.wav", ("language", "en"), ("response_format", "vtt")));
        Assert.StartsWith("WEBVTT\n\n00:00:", await vtt.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("garbage", "file", "not a known audio format")]
    [InlineData("empty", "file", "empty")]
    [InlineData("m4a", "file", "unsupported audio format MP4/M4A")]
    [InlineData("language", "language", "unknown language 'xx'")]
    [InlineData("format", "response_format", "response_format must be one of")]
    [InlineData("nofile", "file", "'file' is required")]
    public async Task Bad_input_is_a_400_naming_the_problem(string kind, string param, string message)
    {
        if (!WhisperServer.Available) return;
        var wav = await File.ReadAllBytesAsync(Path.Combine(Clips, "en_16k_s16.wav"));
        HttpContent content = kind switch
        {
            "garbage" => Form(Encoding.ASCII.GetBytes("this is not audio at all"), "x.wav"),
            "empty" => Form([], "x.wav"),
            "m4a" => Form([0, 0, 0, 32, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'M', (byte)'4', (byte)'A', 32, 0, 0, 0, 0], "x.m4a"),
            "language" => Form(wav, "x.wav", ("language", "xx")),
            "format" => Form(wav, "x.wav", ("response_format", "docx")),
            _ => new MultipartFormDataContent { { new StringContent("en"), "language" } },
        };
        using var resp = await server.Http.PostAsync(server.BaseUrl + "/v1/audio/transcriptions", content);
        var body = await resp.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Contains(message, error["message"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }
}
