using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Queue;
using Pipeline.Models.Tests.Fixtures;

namespace Pipeline.Host.Tests;

/// <summary>`pipeline serve` over the tiny random Qwen2-Audio of scripts/fixtures/make_audio_lm_fixtures.py, two clips a prompt at most.</summary>
public sealed class Qwen2AudioServer : ServerFixture
{
    public override string ModelDir => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "qwen2-audio");
    protected override string[] ServeArgs => ["--dtype", "float32", "--max-model-len", "160", "--limit-mm-per-prompt", "{\"audio\": 2}"];
}

/// <summary>
/// The fixture's one- and two-clip chats sent to /v1/chat/completions as OpenAI clients send audio (input_audio parts
/// with base64 WAV data; the second clip of the two-clip chat as vLLM's audio_url part with a data: URL): greedy tokens
/// and top-5 logprobs match transformers' by vLLM's rule and the prompt is transformers' expanded prompt. Bad audio is
/// a 400 naming the problem.
/// </summary>
public class AudioChatTests(Qwen2AudioServer server) : IClassFixture<Qwen2AudioServer>
{
    byte[] Clip(string name) => File.ReadAllBytes(Path.Combine(server.ModelDir, "audio", name));

    static JsonObject InputAudio(byte[] wav, string format = "wav") =>
        new() { ["type"] = "input_audio", ["input_audio"] = new JsonObject { ["data"] = Convert.ToBase64String(wav), ["format"] = format } };

    static JsonObject AudioUrl(string url) => new() { ["type"] = "audio_url", ["audio_url"] = new JsonObject { ["url"] = url } };

    async Task<(HttpStatusCode Status, string Body)> Chat(JsonArray content, int maxTokens, bool logprobs = false)
    {
        var body = new JsonObject
        {
            ["model"] = ServerFixture.ModelName,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["max_tokens"] = maxTokens, ["temperature"] = 0, ["ignore_eos"] = true,
        };
        if (logprobs) { body["logprobs"] = true; body["top_logprobs"] = 5; body["return_tokens_as_token_ids"] = true; }
        var response = await server.Http.PostAsync(server.BaseUrl + "/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Base64_audio_chats_match_transformers(int p)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(server.ModelDir, "expected.json")));
        var prompt = doc.RootElement.GetProperty("prompts")[p];
        var want = ModelFixture.Expected(Path.Combine("..", "multimodal", "models", "qwen2-audio"))[p];
        var content = new JsonArray();
        int k = 0;
        foreach (var clip in prompt.GetProperty("audio").EnumerateArray())
        {
            var wav = Clip(clip.GetString()!);
            content.Add(k++ == 0 ? InputAudio(wav) : AudioUrl("data:audio/wav;base64," + Convert.ToBase64String(wav)));
        }
        var question = prompt.GetProperty("messages")[0].GetProperty("content").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "text");
        content.Add(new JsonObject { ["type"] = "text", ["text"] = question.GetProperty("text").GetString() });
        var (status, raw) = await Chat(content, want.TokenIds.Length, logprobs: true);
        Assert.True(status == HttpStatusCode.OK, raw);
        var result = JsonDocument.Parse(raw).RootElement;
        Assert.Equal(want.PromptTokenIds.Length, result.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        static int Id(JsonElement e) => int.Parse(e.GetProperty("token").GetString()!["token_id:".Length..]);
        var steps = result.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        GreedyComparison.AssertMatches(want, steps.Select(Id).ToList(),
            steps.Select(s => s.GetProperty("top_logprobs").EnumerateArray().Select(t => (Id(t), (float)t.GetProperty("logprob").GetDouble())).ToArray()).ToList(),
            steps.Select(s => (float)s.GetProperty("logprob").GetDouble()).ToList(), 1e-3, $"qwen2-audio prompt {p} over HTTP");
    }

    /// <summary>A 16 kHz mono 16-bit WAV of <paramref name="seconds"/> of a quiet tone.</summary>
    static byte[] Wav(double seconds)
    {
        int n = (int)(seconds * 16000);
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(36 + 2 * n); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(16000); w.Write(32000); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(2 * n);
        for (int i = 0; i < n; i++) w.Write((short)(1000 * Math.Sin(i * 0.05)));
        w.Flush();
        return ms.ToArray();
    }

    public static IEnumerable<object[]> BadCases() =>
    [
        ["undecodable", "not a known audio format"],
        ["truncated", "could not be decoded"],
        ["too long", "longer than the 3 s the model's audio encoder takes"],
        ["too many", "too many audio clips: 3 in one prompt, the limit is 2"],
        ["not base64", "not valid base64"],
        ["no format", "input_audio.format"],
        ["file url not allowed", "file: audio URLs are not allowed"],
        ["image data url", "audio data URL has media type 'image/png', not audio/*"],
    ];

    [Theory]
    [MemberData(nameof(BadCases))]
    public async Task Bad_audio_is_a_400_naming_the_problem(string kind, string message)
    {
        var wav = Clip("en.wav");
        JsonNode[] parts = kind switch
        {
            "undecodable" => [InputAudio(Encoding.UTF8.GetBytes("these bytes are no sound at all, just text"))],
            "truncated" => [InputAudio(wav[..30])],
            "too long" => [InputAudio(Wav(4.0))],
            "too many" => [InputAudio(wav), InputAudio(wav), InputAudio(wav)],
            "not base64" => [new JsonObject { ["type"] = "input_audio", ["input_audio"] = new JsonObject { ["data"] = "%%%not base64%%%", ["format"] = "wav" } }],
            "no format" => [new JsonObject { ["type"] = "input_audio", ["input_audio"] = new JsonObject { ["data"] = Convert.ToBase64String(wav) } }],
            "file url not allowed" => [AudioUrl("file://" + Path.Combine(server.ModelDir, "audio", "en.wav"))],
            "image data url" => [AudioUrl("data:image/png;base64," + Convert.ToBase64String(wav))],
            _ => throw new ArgumentException(kind),
        };
        var content = new JsonArray([.. parts, new JsonObject { ["type"] = "text", ["text"] = "what is in this audio ?" }]);
        var (status, raw) = await Chat(content, 2);
        Assert.True(status == HttpStatusCode.BadRequest, $"{kind}: {(int)status} {raw}");
        Assert.Contains(message, JsonDocument.Parse(raw).RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    async Task<List<QueueEvent>> Follow(string id)
    {
        var r = await server.Http.GetAsync(server.BaseUrl + $"/v1/streams/{id}?wait=60");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        return events[..^1].Select(e => QueueEvent.Parse(Encoding.UTF8.GetBytes(e["data: ".Length..]))).ToList();
    }

    /// <summary>
    /// Through the queue (POST /v1/queue/requests, followed on /v1/streams/{id}): the two-clip chat's final event holds
    /// transformers' greedy tokens, and a clip longer than the window is an error event naming the problem.
    /// </summary>
    [Fact]
    public async Task Through_the_queue_audio_chats_match_transformers_and_bad_audio_is_an_error_event()
    {
        var want = ModelFixture.Expected(Path.Combine("..", "multimodal", "models", "qwen2-audio"))[1];
        JsonObject Body(string id, params JsonNode[] parts) => new()
        {
            ["request_id"] = id, ["max_tokens"] = want.TokenIds.Length, ["temperature"] = 0, ["ignore_eos"] = true,
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user", ["content"] = new JsonArray([.. parts, new JsonObject { ["type"] = "text", ["text"] = "compare them ." }]),
            }),
        };
        async Task Post(JsonObject body) => Assert.Equal(HttpStatusCode.Accepted, (await server.Http.PostAsync(server.BaseUrl + "/v1/queue/requests",
            new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"))).StatusCode);
        await Post(Body("audio-bad", InputAudio(Wav(4.0)), InputAudio(Clip("de.wav"))));
        await Post(Body("audio-good", InputAudio(Clip("en.wav")), InputAudio(Clip("de.wav"))));
        var error = Assert.Single(await Follow("audio-bad"));
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Contains("audio 1: the audio is 4 s long", error.Json.GetProperty("error").GetProperty("message").GetString());
        var final = (await Follow("audio-good")).Last();
        Assert.Equal(QueueEvents.Final, final.Type);
        Assert.Equal(want.TokenIds, final.Json.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()));
    }

    [Fact]
    public async Task Models_endpoint_lists_audio_as_an_input_modality()
    {
        var raw = await server.Http.GetStringAsync(server.BaseUrl + "/v1/models");
        Assert.Contains("audio", JsonDocument.Parse(raw).RootElement.GetProperty("data")[0].GetProperty("input_modalities").EnumerateArray().Select(x => x.GetString()));
    }
}

/// <summary>Audio sent to a model without an audio tower (the LLaVA-1.5 fixture) is a 400 naming the problem.</summary>
public class AudioToVisionModelTests(LlavaServer server) : IClassFixture<LlavaServer>
{
    [Fact]
    public async Task Audio_to_a_model_without_an_audio_tower_is_a_400()
    {
        var content = new JsonArray(
            new JsonObject { ["type"] = "input_audio", ["input_audio"] = new JsonObject { ["data"] = Convert.ToBase64String(new byte[64]), ["format"] = "wav" } },
            new JsonObject { ["type"] = "text", ["text"] = "what is in this audio ?" });
        var body = new JsonObject
        {
            ["model"] = ServerFixture.ModelName, ["max_tokens"] = 2,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
        };
        var response = await server.Http.PostAsync(server.BaseUrl + "/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, raw);
        Assert.Contains("does not take audio", JsonDocument.Parse(raw).RootElement.GetProperty("error").GetProperty("message").GetString());
    }
}

/// <summary>
/// The two-clip chat through `pipeline generate --audio` (the rendered prompt and the WAV files), with a 5-token step
/// budget so prefill chunks cut through the audio tokens: greedy tokens and top-5 logprobs match transformers'.
/// </summary>
public class AudioGenerateCommandTests
{
    [Fact]
    public void Generate_with_audio_matches_transformers()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "qwen2-audio");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var prompt = doc.RootElement.GetProperty("prompts")[1];
        var want = ModelFixture.Expected(Path.Combine("..", "multimodal", "models", "qwen2-audio"))[1];
        var clips = prompt.GetProperty("audio").EnumerateArray().SelectMany(i => new[] { "--audio", Path.Combine(dir, "audio", i.GetString()!) });
        var (exit, stdout, stderr) = PipelineProcess.Run(["generate", dir, "--prompt", prompt.GetProperty("text").GetString()!, .. clips,
            "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--output", "json", "--logprobs", "5", "--dtype", "float32",
            "--max-model-len", "160", "--max-num-seqs", "4", "--max-num-batched-tokens", "5"]);
        Assert.True(exit == 0, stderr);
        var got = JsonDocument.Parse(stdout.Trim()).RootElement;
        Assert.Equal(want.PromptTokenIds, got.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()));
        var top = got.GetProperty("logprobs").EnumerateArray()
            .Select(o => o.EnumerateObject().Select(k => (int.Parse(k.Name), (float)k.Value.GetDouble())).ToArray()).ToList();
        var tokens = got.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToList();
        GreedyComparison.AssertMatches(want, tokens, top, tokens.Select((t, i) => top[i].Single(x => x.Item1 == t).Item2).ToList(), 1e-3, "qwen2-audio pipeline generate");
    }
}
