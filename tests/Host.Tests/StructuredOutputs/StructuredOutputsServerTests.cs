using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Pipeline.Host.Queue;
using Pipeline.Host.Tests.Queue;

namespace Pipeline.Host.Tests.StructuredOutputs;

/// <summary>Posting to the real server and checking constrained outputs with independent references.</summary>
public abstract class StructuredOutputsHttp(ServerFixture server)
{
    protected ServerFixture Server => server;

    protected async Task<(HttpStatusCode Status, JsonElement Body, string Raw)> Post(string path, string json)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var r = await server.Http.SendAsync(req);
        var raw = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, raw.StartsWith('{') ? JsonDocument.Parse(raw).RootElement : default, raw);
    }

    /// <summary>The text of each choice of a streamed response, joined from its deltas.</summary>
    protected async Task<(Dictionary<int, string> Texts, Dictionary<int, string> Finish)> Stream(string path, string json, bool chat)
    {
        var (status, _, raw) = await Post(path, json);
        Assert.True(status == HttpStatusCode.OK, raw);
        var texts = new Dictionary<int, string>();
        var finish = new Dictionary<int, string>();
        foreach (var ev in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var data = ev["data: ".Length..];
            if (data == "[DONE]") break;
            foreach (var c in JsonDocument.Parse(data).RootElement.GetProperty("choices").EnumerateArray())
            {
                int i = c.GetProperty("index").GetInt32();
                var piece = chat ? (c.GetProperty("delta").TryGetProperty("content", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : "") : c.GetProperty("text").GetString();
                texts[i] = texts.GetValueOrDefault(i, "") + piece;
                if (c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String) finish[i] = f.GetString()!;
            }
        }
        return (texts, finish);
    }

    public static void AssertValid(string schema, string output, string context)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(output); }
        catch (JsonException e) { throw new Xunit.Sdk.XunitException($"{context}: output does not parse ({e.Message}): {output}"); }
        using (doc)
        {
            var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(result.IsValid, $"{context}: output does not validate: {output}\n{JsonSerializer.Serialize(result)}");
        }
    }

    protected const string Schema = """
    {"type":"object","properties":{
      "name":{"type":"string","minLength":1,"maxLength":10},
      "age":{"type":"integer","minimum":18,"maximum":120},
      "height":{"type":"number","minimum":0.5,"maximum":2.5},
      "role":{"enum":["admin","user","guest"]},
      "tags":{"type":"array","items":{"type":"string","maxLength":6},"minItems":1,"maxItems":3},
      "home":{"type":"object","properties":{"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["zip"],"additionalProperties":false},
      "contact":{"anyOf":[{"type":"null"},{"type":"string","pattern":"^[a-z]{1,5}@[a-z]{1,5}\\.com$"}]}
     },"required":["name","age","role","tags","home"],"additionalProperties":false}
    """;
}

/// <summary>A dummy-weight model with the real 151k-token Qwen2.5 tokenizer: structured outputs over a large real vocabulary.</summary>
public class StructuredOutputsServerTests(ServerFixture server) : StructuredOutputsHttp(server), IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ChatResponseFormatJsonSchemaValidatesAcrossSeedsWithNGreaterThanOne()
    {
        for (int seed = 0; seed < 1; seed++)
        {
            var (status, body, raw) = await Post("/v1/chat/completions", $$$"""
                {"messages":[{"role":"user","content":"A person as JSON."}],"temperature":1,"seed":{{{seed}}},"n":3,"max_tokens":200,
                 "response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{{{Schema}}} } } }
                """);
            Assert.True(status == HttpStatusCode.OK, raw);
            foreach (var c in body.GetProperty("choices").EnumerateArray())
            {
                Assert.Equal("stop", c.GetProperty("finish_reason").GetString());
                AssertValid(Schema, c.GetProperty("message").GetProperty("content").GetString()!, $"seed {seed}");
            }
        }
    }

    [Fact]
    public async Task StreamedChoicesHoldTheirConstraints()
    {
        var (texts, finish) = await Stream("/v1/chat/completions", $$$"""
            {"messages":[{"role":"user","content":"JSON please."}],"temperature":1,"seed":7,"n":2,"max_tokens":200,"stream":true,
             "structured_outputs":{"json":{{{Schema}}}}}
            """, chat: true);
        Assert.Equal(2, texts.Count);
        foreach (var (i, t) in texts)
        {
            Assert.Equal("stop", finish[i]);
            AssertValid(Schema, t, $"streamed choice {i}");
        }
        const string regex = @"[A-Z][a-z]{1,5}-\d{2,3}";
        (texts, finish) = await Stream("/v1/completions", $$$"""
            {"prompt":"Code:","temperature":1,"seed":3,"n":3,"max_tokens":40,"stream":true,"guided_regex":{{{JsonSerializer.Serialize(regex)}}}}
            """, chat: false);
        Assert.Equal(3, texts.Count);
        Assert.All(texts.Values, t => Assert.Matches(new Regex($"^(?:{regex})\\z"), t));
    }

    [Fact]
    public async Task CompletionsTakeEveryConstraintField()
    {
        string[] choices = ["positive", "negative", "neutral"];
        for (int seed = 0; seed < 3; seed++)
        {
            var (status, body, raw) = await Post("/v1/completions", $$$"""
                {"prompt":"Sentiment:","temperature":1,"seed":{{{seed}}},"n":4,"max_tokens":10,"guided_choice":["positive","negative","neutral"]}
                """);
            Assert.True(status == HttpStatusCode.OK, raw);
            Assert.All(body.GetProperty("choices").EnumerateArray(), c => Assert.Contains(c.GetProperty("text").GetString(), choices));
        }
        var (s2, b2, r2) = await Post("/v1/completions", $$$"""
            {"prompt":"Data:","temperature":1,"seed":5,"n":2,"max_tokens":200,"guided_json":{{{JsonSerializer.Serialize(Schema)}}}}
            """);
        Assert.True(s2 == HttpStatusCode.OK, r2);
        Assert.All(b2.GetProperty("choices").EnumerateArray(), c => AssertValid(Schema, c.GetProperty("text").GetString()!, "guided_json as a string"));
        var (s3, b3, r3) = await Post("/v1/completions", """
            {"prompt":"Data:","temperature":1,"seed":9,"max_tokens":240,"response_format":{"type":"json_object"}}
            """);
        Assert.True(s3 == HttpStatusCode.OK, r3);
        var text = b3.GetProperty("choices")[0].GetProperty("text").GetString()!;
        if (b3.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop")
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        var (s4, b4, r4) = await Post("/v1/completions", """
            {"prompt":"Pair:","temperature":1,"seed":2,"max_tokens":40,"structured_outputs":{"grammar":"root ::= key \"=\" [0-9]{1,3}\nkey ::= \"a\" | \"bb\""}}
            """);
        Assert.True(s4 == HttpStatusCode.OK, r4);
        Assert.Matches(new Regex(@"^(a|bb)=[0-9]{1,3}\z"), b4.GetProperty("choices")[0].GetProperty("text").GetString()!);
    }

    [Theory]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","not":{"required":["a"]}}}}}""", "response_format", "'not' is not supported")]
    [InlineData("""{"structured_outputs":{"json":{"type":"array","uniqueItems":true}}}""", "structured_outputs", "uniqueItems")]
    [InlineData("""{"guided_json":{"type":"number","multipleOf":2}}""", "guided_json", "multipleOf")]
    [InlineData("""{"guided_regex":"(?=x)y"}""", "guided_regex", "lookahead")]
    [InlineData("""{"guided_regex":"a+","guided_choice":["a"]}""", "guided_choice", "only one structured outputs constraint")]
    [InlineData("""{"structured_outputs":{"regex":"a","choice":["b"]}}""", "structured_outputs", "only one of")]
    [InlineData("""{"structured_outputs":{"grammar":"start: start \"a\" | \"a\""}}""", "structured_outputs", "left-recursive")]
    [InlineData("""{"response_format":{"type":"structural_tag"}}""", "response_format", "not supported")]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}""", "response_format", "schema is required")]
    public async Task UnsupportedConstraintsAre400NamingTheFieldAndFeature(string fields, string param, string message)
    {
        foreach (var (path, basics) in new[] { ("/v1/completions", "\"prompt\":\"x\""), ("/v1/chat/completions", "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]") })
        {
            var json = "{" + basics + "," + fields[1..];
            var (status, body, raw) = await Post(path, json);
            Assert.True(status == HttpStatusCode.BadRequest, raw);
            var error = body.GetProperty("error");
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.Contains(message, error.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task QueueMessagesCarryTheSameFields()
    {
        async Task<List<QueueEvent>> Follow(string id)
        {
            var req = new HttpRequestMessage(HttpMethod.Get, Server.BaseUrl + $"/v1/streams/{id}?wait=60");
            req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
            var r = await Server.Http.SendAsync(req);
            var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            return events[..^1].Select(e => QueueEvent.Parse(Encoding.UTF8.GetBytes(e["data: ".Length..]))).ToList();
        }
        var follow = Follow("so-queue-1");
        var (status, _, raw) = await Post("/v1/queue/requests", $$$"""
            {"request_id":"so-queue-1","messages":[{"role":"user","content":"JSON"}],"temperature":1,"seed":11,"max_tokens":200,
             "response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{{{Schema}}} } } }
            """);
        Assert.True(status == HttpStatusCode.Accepted, raw);
        var final = EventLog.CheckStream(await follow);
        AssertValid(Schema, final.Json.GetProperty("choices")[0].GetProperty("text").GetString()!, "queue");

        var bad = Follow("so-queue-2");
        (status, _, raw) = await Post("/v1/queue/requests", """{"request_id":"so-queue-2","prompt":"x","guided_json":{"type":"object","patternProperties":{}}}""");
        Assert.True(status == HttpStatusCode.Accepted, raw);
        var error = Assert.Single(await bad);
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Contains("patternProperties", error.Json.GetProperty("error").GetProperty("message").GetString());
    }
}

/// <summary>The built-in pipeline-tiny-en (a real model and tokenizer) at temperature 1: its outputs keep to the constraints.</summary>
public class StructuredOutputsDefaultModelTests(DefaultModelServer server) : StructuredOutputsHttp(server), IClassFixture<DefaultModelServer>
{
    [Fact]
    public async Task RealModelOutputsValidateAcrossSeeds()
    {
        for (int seed = 0; seed < 1; seed++)
        {
            var (status, body, raw) = await Post("/v1/chat/completions", $$$"""
                {"messages":[{"role":"user","content":"Describe the President as JSON."}],"temperature":1,"seed":{{{seed}}},"n":4,"max_tokens":200,
                 "response_format":{"type":"json_schema","json_schema":{"name":"person","schema":{{{Schema}}} } } }
                """);
            Assert.True(status == HttpStatusCode.OK, raw);
            foreach (var c in body.GetProperty("choices").EnumerateArray())
            {
                Assert.Equal("stop", c.GetProperty("finish_reason").GetString());
                AssertValid(Schema, c.GetProperty("message").GetProperty("content").GetString()!, $"seed {seed}");
            }
        }
        var (s, b, r) = await Post("/v1/completions", """
            {"prompt":"The whale is","temperature":1,"seed":1,"n":4,"max_tokens":16,"structured_outputs":{"choice":["white","grey","enormous"]}}
            """);
        Assert.True(s == HttpStatusCode.OK, r);
        Assert.All(b.GetProperty("choices").EnumerateArray(), c => Assert.Contains(c.GetProperty("text").GetString(), new[] { "white", "grey", "enormous" }));
    }
}
