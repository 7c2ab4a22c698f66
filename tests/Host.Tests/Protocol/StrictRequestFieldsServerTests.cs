using System.Net;
using System.Text;
using System.Text.Json;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>The real server with strict request fields, turned on the way a deployment would: PIPELINE_STRICT_REQUEST_FIELDS.</summary>
public sealed class StrictFieldsServer : ServerFixture
{
    protected override string[] ServeArgs => [.. ModelArgs];
    protected override IReadOnlyDictionary<string, string> ServerEnvironment => new Dictionary<string, string> { ["PIPELINE_STRICT_REQUEST_FIELDS"] = "true" };
}

public class StrictRequestFieldsServerTests(StrictFieldsServer server) : IClassFixture<StrictFieldsServer>
{
    async Task<(HttpStatusCode Status, string Raw)> Post(string path, string json)
    {
        var r = await server.Http.PostAsync(server.BaseUrl + path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnUnknownFieldIsA400NamingIt()
    {
        var (status, raw) = await Post("/v1/completions", """{"prompt":"x","max_tokens":1,"temprature":0.5}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonDocument.Parse(raw).RootElement.GetProperty("error");
        Assert.Contains("temprature", error.GetProperty("message").GetString());
        Assert.Equal("temprature", error.GetProperty("param").GetString());
        var (chat, chatRaw) = await Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}],"max_tokens":1,"top_kk":3}""");
        Assert.Equal(HttpStatusCode.BadRequest, chat);
        Assert.Contains("top_kk", chatRaw);
    }

    [Fact]
    public async Task KnownFieldsAreStillServed()
    {
        var (status, raw) = await Post("/v1/completions", """{"prompt":"x","max_tokens":1,"temperature":0,"user":"u"}""");
        Assert.True(status == HttpStatusCode.OK, raw);
        var (tok, tokRaw) = await Post("/tokenize", """{"prompt":"hi","add_special_tokens":true}""");
        Assert.True(tok == HttpStatusCode.OK, tokRaw);
    }
}
