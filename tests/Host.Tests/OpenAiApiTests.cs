using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace Pipeline.Host.Tests;

/// <summary>The real server on loopback, called with the official OpenAI .NET client and with raw HTTP for vLLM's extras.</summary>
public class OpenAiApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    OpenAIClientOptions Options => new() { Endpoint = new Uri(server.BaseUrl + "/v1") };
    ChatClient Chat(string key = ServerFixture.ApiKey) => new(ServerFixture.ModelName, new ApiKeyCredential(key), Options);

    async Task<(HttpStatusCode Status, JsonElement Body, string Raw)> Post(string path, string json, bool auth = true)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (auth) req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var r = await server.Http.SendAsync(req);
        var raw = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, raw.StartsWith('{') ? JsonDocument.Parse(raw).RootElement : default, raw);
    }

    static int[] IdsFromTokens(JsonElement logprobs) =>
        logprobs.GetProperty("tokens").EnumerateArray().Select(t => int.Parse(t.GetString()!["token_id:".Length..])).ToArray();

    [Fact]
    public async Task GreedyCompletionEqualsPipelineGenerate()
    {
        var (status, body, raw) = await Post("/v1/completions", $$"""{"model":"{{ServerFixture.ModelName}}","prompt":"The capital of France is","max_tokens":8,"temperature":0,"logprobs":0,"return_tokens_as_token_ids":true}""");
        Assert.True(status == HttpStatusCode.OK, raw);
        var choice = body.GetProperty("choices")[0];
        var served = IdsFromTokens(choice.GetProperty("logprobs"));
        var (exit, stdout, stderr) = PipelineProcess.Run(["generate", server.ModelDir, "--prompt", "The capital of France is", "--temperature", "0", "--max-tokens", "8", "--output", "json", .. ServerFixture.ModelArgs]);
        Assert.True(exit == 0, stderr);
        var line = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(line.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()), served);
        Assert.Equal(line.GetProperty("text").GetString(), choice.GetProperty("text").GetString());
        Assert.Equal(8, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(line.GetProperty("prompt_token_ids").GetArrayLength(), body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatWithTheOfficialClient()
    {
        var client = Chat();
        ChatCompletion c = await client.CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello!")],
            new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 });
        Assert.Equal(ChatMessageRole.Assistant, c.Role);
        Assert.Equal(6, c.Usage.OutputTokenCount);
        Assert.True(c.Usage.InputTokenCount > 10);
        Assert.Equal(ChatFinishReason.Length, c.FinishReason);
        Assert.Equal(6, c.ContentTokenLogProbabilities.Count);
        Assert.All(c.ContentTokenLogProbabilities, l => Assert.Equal(2, l.TopLogProbabilities.Count));
        // Greedy: the chosen token is the most likely one.
        Assert.All(c.ContentTokenLogProbabilities, l => Assert.Equal(l.TopLogProbabilities[0].LogProbability, l.LogProbability, 4));

        var sb = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var u in client.CompleteChatStreamingAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hello!")],
                           new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 }))
        {
            foreach (var part in u.ContentUpdate) sb.Append(part.Text);
            finish ??= u.FinishReason;
        }
        Assert.Equal(c.Content[0].Text, sb.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task ModelsAndErrorsThroughTheClient()
    {
        var models = new OpenAIModelClient(new ApiKeyCredential(ServerFixture.ApiKey), Options);
        var list = await models.GetModelsAsync();
        Assert.Contains(list.Value, m => m.Id == ServerFixture.ModelName);

        var bad = await Assert.ThrowsAsync<ClientResultException>(() => Chat("wrong-key").CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(401, bad.Status);
        var unknown = new ChatClient("no-such-model", new ApiKeyCredential(ServerFixture.ApiKey), Options);
        var nf = await Assert.ThrowsAsync<ClientResultException>(() => unknown.CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, nf.Status);
        Assert.Contains("no-such-model", nf.Message);
    }

    [Fact]
    public async Task StreamingCompletionWithUsageAndDone()
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
        {
            Content = new StringContent("""{"prompt":"Once upon a time","max_tokens":5,"temperature":0,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}""", Encoding.UTF8, "application/json"),
        };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        req.Headers.Add("X-Request-Id", "my-request-42");
        var r = await server.Http.SendAsync(req);
        Assert.Equal("my-request-42", r.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Last().GetProperty("finish_reason").GetString());
        Assert.All(chunks, c => Assert.Equal("cmpl-my-request-42", c.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task VllmExtraFieldsAreHonoured()
    {
        // stop_token_ids: the greedy run's third token stops the request there.
        var (_, first, _) = await Post("/v1/completions", """{"prompt":[1,2,3,4],"max_tokens":6,"temperature":0,"logprobs":0,"return_tokens_as_token_ids":true}""");
        var ids = IdsFromTokens(first.GetProperty("choices")[0].GetProperty("logprobs"));
        var (s2, stopped, raw2) = await Post("/v1/completions", $$"""{"prompt":[1,2,3,4],"max_tokens":6,"temperature":0,"stop_token_ids":[{{ids[2]}}],"top_k":5,"min_p":0.0,"repetition_penalty":1.0}""");
        Assert.True(s2 == HttpStatusCode.OK, raw2);
        var choice = stopped.GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(ids[2], choice.GetProperty("stop_reason").GetInt32());
        // n > 1 with a seed gives n choices; min_tokens + ignore_eos give exactly max_tokens.
        var (_, many, raw3) = await Post("/v1/completions", """{"prompt":"a","max_tokens":4,"n":3,"seed":7,"temperature":1.0,"ignore_eos":true,"min_tokens":4}""");
        Assert.Equal(3, many.GetProperty("choices").GetArrayLength());
        Assert.Equal(12, many.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // A list of token-id prompts gives one choice per prompt.
        var (_, lists, _) = await Post("/v1/completions", """{"prompt":[[1,2],[3,4,5]],"max_tokens":2,"temperature":0}""");
        Assert.Equal(2, lists.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, lists.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"prompt":"x","temperature":-1}""", 400, "temperature")]
    [InlineData("""{"prompt":"x","top_p":"high"}""", 400, "top_p")]
    [InlineData("""{"prompt":"x","max_tokens":100000}""", 400, "max_model_len")]
    [InlineData("""{"prompt":"x","best_of":3}""", 400, "best_of")]
    [InlineData("""{"prompt":"x","suffix":"y"}""", 400, "suffix")]
    [InlineData("""{"max_tokens":3}""", 400, "prompt is required")]
    [InlineData("""{"prompt":[1, 999999]}""", 400, "out of vocabulary")]
    [InlineData("""{"prompt":"x","n":0}""", 400, "n must be at least 1")]
    [InlineData("""{"prompt":"x" """, 400, "invalid JSON")]
    [InlineData("""[1,2,3]""", 400, "JSON object")]
    public async Task BadRequestsGetA400NamingTheProblem(string json, int status, string message)
    {
        var (code, body, raw) = await Post("/v1/completions", json);
        Assert.Equal(status, (int)code);
        var err = body.GetProperty("error");
        Assert.Contains(message, err.GetProperty("message").GetString());
        Assert.Equal(status, err.GetProperty("code").GetInt32());
    }

    [Theory]
    [InlineData("data:image/png;base64,iVBORw0KGgo=", "this model does not take images")]
    [InlineData("https://images.example/cat.png", "this model does not take images")]
    public async Task ImagesToATextModelGetA400NamingTheProblem(string url, string message)
    {
        var json = $$$"""{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"{{{url}}}","detail":"low"}}]}],"max_tokens":2}""";
        var (code, body, raw) = await Post("/v1/chat/completions", json);
        Assert.True(code == HttpStatusCode.BadRequest, raw);
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString());
        // The same server keeps serving text.
        var (ok, _, raw2) = await Post("/v1/chat/completions", """{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":2}""");
        Assert.True(ok == HttpStatusCode.OK, raw2);
    }

    [Fact]
    public async Task UnknownFieldsAreServedAndLoggedOnceNamingThem()
    {
        var (status, _, raw) = await Post("/v1/completions", """{"prompt":"x","max_tokens":1,"temprature":0.5,"max_tokns":3}""");
        Assert.True(status == HttpStatusCode.OK, raw);
        var line = await server.WaitForOutput("temprature", TimeSpan.FromSeconds(10));
        Assert.Contains("max_tokns", line);
        Assert.Single(server.Output, l => l.Contains("temprature"));
    }

    [Fact]
    public async Task TokenizeAndDetokenizeRoundTrip()
    {
        var (_, t, raw) = await Post("/tokenize", """{"prompt":"Hello, world!"}""");
        var ids = t.GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal([9707, 11, 1879, 0], ids);
        Assert.Equal(4, t.GetProperty("count").GetInt32());
        var (_, d, _) = await Post("/detokenize", """{"tokens":[9707,11,1879,0]}""");
        Assert.Equal("Hello, world!", d.GetProperty("prompt").GetString());
        var (_, chat, _) = await Post("/tokenize", """{"messages":[{"role":"user","content":"Hi"}]}""");
        Assert.True(chat.GetProperty("count").GetInt32() > 5);
    }
}

/// <summary>A model directory without tokenizer files: token-id prompts are served, text prompts get a clear 400.</summary>
public class NoTokenizerServerTests(NoTokenizerServer server) : IClassFixture<NoTokenizerServer>
{
    [Fact]
    public async Task TokenIdPromptsWorkAndTextIsRefused()
    {
        var ids = await server.Http.PostAsync(server.BaseUrl + "/v1/completions", new StringContent("""{"prompt":[1,2,3],"max_tokens":3,"temperature":0}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ids.StatusCode);
        var text = await server.Http.PostAsync(server.BaseUrl + "/v1/completions", new StringContent("""{"prompt":"hello","max_tokens":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, text.StatusCode);
        Assert.Contains("no tokenizer", await text.Content.ReadAsStringAsync());
        var chat = await server.Http.PostAsync(server.BaseUrl + "/v1/chat/completions", new StringContent("""{"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
    }
}
