#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>
/// Tool calls and reasoning through the running server with the official OpenAI .NET client (ChatTool,
/// ToolChatMessage), streamed and not. The model is scripted (<see cref="ScriptedCausalLM"/>) to write what Qwen
/// writes; the chat template, engine, detokenizer, parsers and HTTP are the real ones.
/// </summary>
public class ToolCallingServerTests(ScriptedChatServer server) : IClassFixture<ScriptedChatServer>
{
    static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Current weather in a city",
        BinaryData.FromString("""{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"""));

    const string Call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    static ChatCompletionOptions Options() => new() { Tools = { Weather }, Temperature = 0, MaxOutputTokenCount = 100 };

    string Prompt() => server.Server.Model.Tokenizer!.Decode(server.Model.LastPrompt);

    [Fact]
    public async Task ToolCallRoundTripsWithTheOpenAIClient()
    {
        var chat = server.Chat();
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];
        server.Answer(Call);
        ChatCompletion first = await chat.CompleteChatAsync(messages, Options());
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("chatcmpl-tool-", call.Id);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.Contains("\"name\": \"get_weather\"", Prompt());   // the tools reached the template

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"temperature_c": 21}"""));
        server.Answer("It is 21 °C in Paris.");
        ChatCompletion second = await chat.CompleteChatAsync(messages, Options());
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Equal("It is 21 °C in Paris.", second.Content[0].Text);
        Assert.Empty(second.ToolCalls);
        // The call and its result went back through Qwen's template (arguments as an object, the result in <tool_response>).
        var prompt = Prompt();
        Assert.Contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>", prompt);
        Assert.Contains("<|im_start|>user\n<tool_response>\n{\"temperature_c\": 21}\n</tool_response><|im_end|>", prompt);
    }

    [Fact]
    public async Task StreamedToolCallsWithTheOpenAIClient()
    {
        server.Answer("Let me look.\n" + Call + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>");
        var content = new StringBuilder();
        var names = new Dictionary<int, string>();
        var ids = new Dictionary<int, string>();
        var args = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        await foreach (var update in server.Chat().CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris and Oslo?")], Options()))
        {
            foreach (var part in update.ContentUpdate) content.Append(part.Text);
            foreach (var t in update.ToolCallUpdates)
            {
                if (t.FunctionName != null) names[t.Index] = t.FunctionName;
                if (t.ToolCallId != null) ids[t.Index] = t.ToolCallId;
                if (t.FunctionArgumentsUpdate != null && !t.FunctionArgumentsUpdate.ToMemory().IsEmpty)
                    (args.TryGetValue(t.Index, out var sb) ? sb : args[t.Index] = new StringBuilder()).Append(t.FunctionArgumentsUpdate.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("Let me look.\n", content.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(["get_weather", "get_weather"], names.OrderBy(k => k.Key).Select(k => k.Value));
        Assert.All(ids.Values, id => Assert.StartsWith("chatcmpl-tool-", id));
        Assert.Equal("{\"city\": \"Paris\"}", args[0].ToString());
        Assert.Equal("{\"city\": \"Oslo\"}", args[1].ToString());
    }

    async Task<JsonNode> Post(object body)
    {
        using var r = await new HttpClient().PostAsJsonAsync(server.BaseUrl + "/v1/chat/completions", body);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }

    async Task<List<JsonNode>> Stream(object body)
    {
        using var r = await new HttpClient().PostAsJsonAsync(server.BaseUrl + "/v1/chat/completions", body);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l["data: ".Length..]).Where(l => l != "[DONE]").Select(l => JsonNode.Parse(l)!).ToList();
    }

    static readonly object[] RawTools = [new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } }];

    [Fact]
    public async Task ReasoningAndCallInRawResponsesAndChunks()
    {
        const string answer = "<think>\nThe user wants the weather; call the tool.\n</think>\n\n" + Call;
        server.Answer(answer);
        var body = new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "Weather in Paris?" } }, tools = RawTools, temperature = 0, max_tokens = 100 };
        var full = await Post(body);
        var message = full["choices"]![0]!["message"]!;
        Assert.Equal("\nThe user wants the weather; call the tool.\n", message["reasoning_content"]!.GetValue<string>());
        Assert.Equal(message["reasoning_content"]!.GetValue<string>(), message["reasoning"]!.GetValue<string>());
        Assert.Null(message["content"]);
        Assert.Equal("function", message["tool_calls"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("tool_calls", full["choices"]![0]!["finish_reason"]!.GetValue<string>());

        server.Answer(answer);
        var chunks = await Stream(new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "Weather in Paris?" } }, tools = RawTools, temperature = 0, max_tokens = 100, stream = true });
        var deltas = chunks.Select(c => c["choices"]![0]!["delta"]!).ToList();
        Assert.Equal("\nThe user wants the weather; call the tool.\n", string.Concat(deltas.Select(d => d["reasoning_content"]?.GetValue<string>())));
        var calls = deltas.Where(d => d["tool_calls"] != null).Select(d => d["tool_calls"]![0]!).ToList();
        // vLLM's shapes: first {index, id, type, function: {name}}, then {index, function: {arguments}}.
        Assert.Equal(0, calls[0]["index"]!.GetValue<int>());
        Assert.StartsWith("chatcmpl-tool-", calls[0]["id"]!.GetValue<string>());
        Assert.Equal("get_weather", calls[0]["function"]!["name"]!.GetValue<string>());
        Assert.Null(calls[0]["function"]!["arguments"]);
        Assert.Null(calls[1]["id"]);
        Assert.Equal("{\"city\": \"Paris\"}", calls[1]["function"]!["arguments"]!.GetValue<string>());
        Assert.Equal("tool_calls", chunks[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.DoesNotContain(deltas, d => d["content"] is { } c && c.GetValue<string>().Length > 0);
    }

    [Fact]
    public async Task EachChoiceOfNGetsItsOwnCalls()
    {
        server.Answer(Call);
        var chunks = await Stream(new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "x" } }, tools = RawTools, n = 2, temperature = 0, max_tokens = 100, stream = true });
        foreach (var index in new[] { 0, 1 })
        {
            var mine = chunks.Where(c => c["choices"]!.AsArray().Count > 0 && c["choices"]![0]!["index"]!.GetValue<int>() == index).Select(c => c["choices"]![0]!).ToList();
            var calls = mine.Where(c => c["delta"]!["tool_calls"] != null).Select(c => c["delta"]!["tool_calls"]![0]!).ToList();
            Assert.Equal(2, calls.Count);
            Assert.All(calls, c => Assert.Equal(0, c["index"]!.GetValue<int>()));
            Assert.Equal("tool_calls", mine[^1]["finish_reason"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ToolChoiceNoneLeavesTheTextAlone()
    {
        server.Answer(Call);
        var full = await Post(new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "x" } }, tools = RawTools, tool_choice = "none", temperature = 0, max_tokens = 100 });
        Assert.Equal(Call, full["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", full["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    static readonly ChatTool CityWeather = ChatTool.CreateFunctionTool("get_weather", "Current weather in a city",
        BinaryData.FromString("""{"type": "object", "properties": {"city": {"enum": ["Paris", "Oslo"]}}, "required": ["city"], "additionalProperties": false}"""));

    [Fact]
    public async Task NamedAndRequiredChoicesAreEnforcedOnARandomModel()
    {
        // The random-weight model writes whatever it likes; structured outputs keep it to the call's JSON.
        server.RandomAnswers();
        var chat = server.Chat();
        foreach (var seed in new[] { 1L, 2L, 3L })
        {
            var named = new ChatCompletionOptions { Tools = { CityWeather }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"), Temperature = 1, Seed = seed, MaxOutputTokenCount = 60 };
            ChatCompletion c = await chat.CompleteChatAsync([new UserChatMessage("Weather?")], named);
            var call = Assert.Single(c.ToolCalls);
            Assert.Equal("get_weather", call.FunctionName);
            Assert.Contains(JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString(), new[] { "Paris", "Oslo" });
            Assert.Equal(ChatFinishReason.Stop, c.FinishReason);

            var required = new ChatCompletionOptions { Tools = { CityWeather }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), AllowParallelToolCalls = false, Temperature = 1, Seed = seed, MaxOutputTokenCount = 80 };
            ChatCompletion r = await chat.CompleteChatAsync([new UserChatMessage("Weather?")], required);
            Assert.Equal("get_weather", Assert.Single(r.ToolCalls).FunctionName);
            Assert.Equal(ChatFinishReason.ToolCalls, r.FinishReason);
        }
        var streamed = new StringBuilder();
        await foreach (var u in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather?")],
            new ChatCompletionOptions { Tools = { CityWeather }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"), Temperature = 0, MaxOutputTokenCount = 60 }))
            foreach (var t in u.ToolCallUpdates) if (t.FunctionArgumentsUpdate is { } a && !a.ToMemory().IsEmpty) streamed.Append(a.ToString());
        Assert.True(JsonDocument.Parse(streamed.ToString()).RootElement.TryGetProperty("city", out _), streamed.ToString());
    }

    [Fact]
    public async Task ConstraintStartsAfterTheThinking()
    {
        // The prompt opens the thinking (as Qwen3 thinking-2507 templates do); the scripted thinking would be refused by a
        // JSON constraint applied from the first token, so it getting through shows the constraint waited for </think>.
        var tok = server.Server.Model.Tokenizer!;
        int[] Ids(string s) => tok.Encode(s, addSpecialTokens: false);
        server.Model.Answer([.. Ids("Let me think.\n"), .. Ids("</think>"), .. Ids("\n\n")], thenRandom: true);
        var schema = new { type = "object", properties = new { city = new { @enum = new[] { "Paris", "Oslo" } } }, required = new[] { "city" }, additionalProperties = false };
        var full = await Post(new
        {
            model = ScriptedChatServer.ModelName,
            messages = new object[] { new { role = "user", content = "Weather as JSON" }, new { role = "assistant", content = "<think>\n" } },
            continue_final_message = true, add_generation_prompt = false, temperature = 0, max_tokens = 60,
            response_format = new { type = "json_schema", json_schema = new { name = "w", schema } },
        });
        var message = full["choices"]![0]!["message"]!;
        Assert.Equal("Let me think.\n", message["reasoning_content"]!.GetValue<string>());
        var content = message["content"]!.GetValue<string>();
        Assert.Contains(JsonDocument.Parse(content).RootElement.GetProperty("city").GetString(), new[] { "Paris", "Oslo" });
    }

    [Fact]
    public async Task ParallelToolCallsFalseKeepsTheFirstCall()
    {
        server.Answer(Call + "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>");
        var full = await Post(new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "x" } }, tools = RawTools, parallel_tool_calls = false, temperature = 0, max_tokens = 100 });
        var calls = full["choices"]![0]!["message"]!["tool_calls"]!.AsArray();
        Assert.Equal("{\"city\": \"Paris\"}", Assert.Single(calls)!["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheEosTokenIsNotTextWhenSpecialTokensAreKept()
    {
        // As in vLLM, the token that stopped the request is not detokenized (formats like mistral's keep special tokens).
        server.Answer("Hi.");
        var full = await Post(new { model = ScriptedChatServer.ModelName, messages = new[] { new { role = "user", content = "x" } }, skip_special_tokens = false, temperature = 0, max_tokens = 20 });
        Assert.Equal("Hi.", full["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadToolFieldsAre400s()
    {
        async Task<string> Error(object body)
        {
            using var r = await new HttpClient().PostAsJsonAsync(server.BaseUrl + "/v1/chat/completions", body);
            Assert.Equal(400, (int)r.StatusCode);
            return (await r.Content.ReadAsStringAsync());
        }
        var msgs = new[] { new { role = "user", content = "x" } };
        Assert.Contains("not among the tools", await Error(new { messages = msgs, tools = RawTools, tool_choice = new { type = "function", function = new { name = "nope" } } }));
        Assert.Contains("tools[0] type must be", await Error(new { messages = msgs, tools = new[] { new { type = "retrieval" } } }));
        Assert.Contains("tool_choice must be", await Error(new { messages = msgs, tools = RawTools, tool_choice = "sometimes" }));
        Assert.Contains("cannot be combined with response_format", await Error(new { messages = msgs, tools = RawTools, tool_choice = "required", response_format = new { type = "json_object" } }));
    }
}

/// <summary>The same fields in queue request messages: the final event carries the parsed message, the deltas its pieces.</summary>
public class ToolCallingQueueTests(ScriptedChatServer server) : IClassFixture<ScriptedChatServer>
{
    [Fact]
    public async Task QueueMessageWithToolsGetsToolCallsAndReasoning()
    {
        var transport = new Pipeline.Streams.Queue.InProcessQueueTransport(new Pipeline.Streams.Queue.QueueTopology());
        var hub = new Pipeline.Host.Queue.StreamHub();
        var service = new Pipeline.Host.Queue.QueueService(transport, server.Server, hub);
        service.Start();
        try
        {
            server.Answer("<think>\nNeed the tool.\n</think>\n\nChecking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
            var body = JsonSerializer.SerializeToUtf8Bytes(new
            {
                request_id = "tools-1", messages = new[] { new { role = "user", content = "Weather in Paris?" } }, temperature = 0, max_tokens = 100,
                tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = new { type = "object" } } } },
            });
            await transport.PublishRequestAsync(body, Pipeline.Streams.Queue.QueueProperties.Default, default);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var events = new List<JsonElement>();
            await foreach (var e in hub.Follow("tools-1", cts.Token)) events.Add(JsonDocument.Parse(e).RootElement.Clone());
            var final = events[^1];
            Assert.Equal("final", final.GetProperty("type").GetString());
            var choice = final.GetProperty("choices")[0];
            Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
            var message = choice.GetProperty("message");
            Assert.Equal("\nNeed the tool.\n", message.GetProperty("reasoning_content").GetString());
            Assert.Equal("\n\nChecking.\n", message.GetProperty("content").GetString());
            var call = message.GetProperty("tool_calls")[0];
            Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
            Assert.Equal("{\"city\": \"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
            // The raw text is still there, and the deltas' parsed pieces add up to the message.
            Assert.StartsWith("<think>", choice.GetProperty("text").GetString());
            var deltas = events.Where(e => e.GetProperty("type").GetString() == "delta" && e.TryGetProperty("delta", out _)).Select(e => e.GetProperty("delta")).ToList();
            Assert.Equal("\nNeed the tool.\n", string.Concat(deltas.Select(d => d.TryGetProperty("reasoning_content", out var r) ? r.GetString() : "")));
            Assert.Equal("\n\nChecking.\n", string.Concat(deltas.Select(d => d.TryGetProperty("content", out var c) ? c.GetString() : "")));
            Assert.Single(deltas, d => d.TryGetProperty("tool_calls", out _));
        }
        finally { await service.StopAsync(TimeSpan.FromSeconds(5)); }
    }
}

public class ToolParserOptionsCliTests
{
    [Theory]
    [InlineData("--enable-auto-tool-choice", "--enable-auto-tool-choice needs --tool-call-parser")]
    [InlineData("--tool-call-parser=nope", "unknown tool call parser 'nope'")]
    [InlineData("--reasoning-parser=nope", "unknown reasoning parser 'nope'")]
    public void BadParserOptionsFailBeforeLoading(string option, string message)
    {
        var (exit, _, stderr) = PipelineProcess.Run(["serve", "--port", "1", .. option.Split('=')]);
        Assert.Equal(2, exit);
        Assert.Contains(message, stderr);
    }
}
