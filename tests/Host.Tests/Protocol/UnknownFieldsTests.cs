using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>Unknown request fields: one warning naming them, or (strict) a 400 naming them; the queue's envelope fields are known there.</summary>
public class UnknownFieldsTests
{
    sealed class CapturingLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    static JsonElement Body(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void LenientReaderLogsOneWarningNamingTheIgnoredFields()
    {
        var log = new CapturingLogger();
        var r = new RequestReader(false, log).Read<CompletionRequest>(Body("""{"prompt":"x","temprature":0.5,"max_tokns":3}"""), "req-1");
        Assert.Null(r.Temperature);
        var (level, text) = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("req-1", text);
        Assert.Contains("temprature", text);
        Assert.Contains("max_tokns", text);
    }

    [Fact]
    public void KnownFieldsLogNothing()
    {
        var log = new CapturingLogger();
        new RequestReader(false, log).Read<ChatCompletionRequest>(Body("""{"messages":[{"role":"user","content":"x","name":"a"}],"user":"u","tool_choice":"none"}"""), "r");
        Assert.Empty(log.Lines);
    }

    [Fact]
    public void StrictReaderRefusesNamingTheUnknownField()
    {
        var e = Assert.Throws<ApiError>(() => new RequestReader(true, new CapturingLogger()).Read<CompletionRequest>(Body("""{"prompt":"x","temprature":0.5}"""), "r"));
        Assert.Equal(400, e.Status);
        Assert.Equal("temprature", e.Param);
        Assert.Contains("temprature", e.Message);
    }

    [Fact]
    public void EnvelopeFieldsAreKnownWhereTheCarrierReadsThem()
    {
        var strict = new RequestReader(true, new CapturingLogger());
        var body = Body("""{"prompt":[1],"request_id":"a","reply_to":"q","correlation_id":"c"}""");
        strict.Read<CompletionRequest>(body, "a", QueueEnvelope.FieldNames);
        Assert.Throws<ApiError>(() => strict.Read<CompletionRequest>(body, "a"));
    }
}
