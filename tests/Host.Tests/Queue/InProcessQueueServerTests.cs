using System.Net;
using System.Text;
using System.Text.Json;
using Pipeline.Host.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>`pipeline serve` with no --queue: the in-process queue, fed by POST /v1/queue/requests and followed by GET /v1/streams/{id}.</summary>
public class InProcessQueueServerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? json = null)
    {
        var req = new HttpRequestMessage(method, server.BaseUrl + path);
        if (json != null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        return await server.Http.SendAsync(req);
    }

    async Task<List<QueueEvent>> Follow(string id)
    {
        var r = await Send(HttpMethod.Get, $"/v1/streams/{id}?wait=60");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        return events[..^1].Select(e => QueueEvent.Parse(Encoding.UTF8.GetBytes(e["data: ".Length..]))).ToList();
    }

    [Fact]
    public async Task ChatRequestThroughTheInProcessQueueGivesTheHttpAnswerToEveryFollower()
    {
        const string messages = """[{"role": "user", "content": "Name three colours."}]""";
        var followers = Enumerable.Range(0, 3).Select(_ => Follow("chat-queue-1")).ToList(); // joining before the request exists
        var r = await Send(HttpMethod.Post, "/v1/queue/requests", $$"""{"request_id": "chat-queue-1", "model": "{{ServerFixture.ModelName}}", "messages": {{messages}}, "max_tokens": 12, "temperature": 0, "ignore_eos": true}""");
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        var streams = await Task.WhenAll(followers);
        streams = [.. streams, await Follow("chat-queue-1")]; // a late follower gets the replay
        var final = EventLog.CheckStream(streams[0]);
        Assert.All(streams, s => Assert.Equal(streams[0].Select(e => e.Json.GetRawText()), s.Select(e => e.Json.GetRawText())));

        var chat = await Send(HttpMethod.Post, "/v1/chat/completions", $$"""{"messages": {{messages}}, "max_tokens": 12, "temperature": 0, "ignore_eos": true}""");
        var body = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), final.Json.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(body.GetProperty("usage").GetRawText(), final.Json.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task UnknownStreamIs404AfterTheWaitAndInvalidRequestsAnswerAnErrorEvent()
    {
        var r = await Send(HttpMethod.Get, "/v1/streams/never-published?wait=0.2");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        r = await Send(HttpMethod.Post, "/v1/queue/requests", """{"request_id": "bad-temp", "prompt": "hi", "temperature": "hot"}""");
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        var events = await Follow("bad-temp");
        var error = Assert.Single(events);
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Contains("temperature", error.Json.GetProperty("error").GetProperty("message").GetString());
        r = await Send(HttpMethod.Post, "/v1/queue/requests", """{"request_id": "image-to-text-model", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="}]}]}""");
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        error = Assert.Single(await Follow("image-to-text-model"));
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Contains("this model does not take images", error.Json.GetProperty("error").GetProperty("message").GetString());
        r = await Send(HttpMethod.Post, "/v1/queue/requests", """{"request_id": "audio-to-text-model", "file": "UklGRiQAAABXQVZF"}""");
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        error = Assert.Single(await Follow("audio-to-text-model"));
        Assert.Equal(QueueEvents.Error, error.Type);
        Assert.Equal(400, error.Json.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Matches(@"is not a speech-to-text model \(field model\)$", error.Json.GetProperty("error").GetProperty("message").GetString());
    }
}
