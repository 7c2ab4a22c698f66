using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>The response types write the exact bytes the endpoints wrote by hand before them (explicit nulls, left-out fields, order).</summary>
public class ProtocolResponseShapeTests
{
    static string Write<T>(T value, JsonTypeInfo<T> type)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Pipeline.Host.Http.Json.WriterOptions)) JsonSerializer.Serialize(w, value, type);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    [Fact]
    public void CompletionChoicesWriteNullsExplicitly()
    {
        var r = new CompletionResponse
        {
            Id = "cmpl-1", Created = 5, Model = "m",
            Choices = [new CompletionChoice { Index = 0, Text = "a<b", StopReason = StopReason.Of(7) }, new CompletionChoice { Index = 1, Text = "", FinishReason = "stop", StopReason = StopReason.Of("x") }],
            Usage = UsageInfo.Generation(2, 3),
        };
        Assert.Equal("""{"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":0,"text":"a<b","logprobs":null,"finish_reason":null,"stop_reason":7},{"index":1,"text":"","logprobs":null,"finish_reason":"stop","stop_reason":"x"}],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}""",
            Write(r, ProtocolJson.Default.CompletionResponse));
    }

    [Fact]
    public void CompletionLogprobsKeepRepeatedTokensAndNulls()
    {
        var lp = new CompletionLogprobs { Tokens = ["a", "a"], TokenLogprobs = [null, -0.5f], TopLogprobs = [null, new TopLogprobs([("a", -0.5f), ("a", -1f)])], TextOffset = [0, 1] };
        Assert.Equal("""{"tokens":["a","a"],"token_logprobs":[null,-0.5],"top_logprobs":[null,{"a":-0.5,"a":-1}],"text_offset":[0,1]}""",
            Write(lp, ProtocolJson.Default.CompletionLogprobs));
    }

    [Fact]
    public void ChatChunksLeaveOutWhatTheyLeftOut()
    {
        var first = new ChatCompletionChunk { Id = "c", Created = 1, Model = "m", Choices = [new ChatChunkChoice { Index = 0, Delta = new ChatDelta { Role = "assistant", Content = "" } }] };
        Assert.Equal("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""",
            Write(first, ProtocolJson.Default.ChatCompletionChunk));
        var last = first with { Choices = [new ChatChunkChoice { Index = 0, Delta = new ChatDelta(), FinishReason = "length", StopReason = StopReason.None }], Usage = UsageInfo.Generation(1, 1) };
        Assert.Equal("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""",
            Write(last, ProtocolJson.Default.ChatCompletionChunk));
    }

    [Fact]
    public void ChatLogprobsCarryBytesAndTopAlternatives()
    {
        var lp = new ChatLogprobs([new ChatTokenLogprob { Token = "é", Logprob = -1, Bytes = [195, 169], TopLogprobs = [new ChatTokenLogprob { Token = "e", Logprob = -2, Bytes = [101] }] }]);
        Assert.Equal("""{"content":[{"token":"é","logprob":-1,"bytes":[195,169],"top_logprobs":[{"token":"e","logprob":-2,"bytes":[101]}]}]}""",
            Write(lp, ProtocolJson.Default.ChatLogprobs));
    }

    [Fact]
    public void ErrorsPoolingAndRerankShapes()
    {
        Assert.Equal("""{"error":{"message":"bad","type":"BadRequestError","param":null,"code":400}}""",
            Write(new ErrorResponse(new ErrorInfo("bad", "BadRequestError", null, 400)), ProtocolJson.Default.ErrorResponse));
        Assert.Equal("""{"error":{"message":"bad","type":"BadRequestError","code":400}}""",
            Write(new StreamErrorResponse(new StreamErrorInfo("bad", "BadRequestError", 400)), ProtocolJson.Default.StreamErrorResponse));
        var embd = new PoolingListResponse<EmbeddingData> { Id = "embd-1", Created = 2, Model = "m", Data = [new EmbeddingData { Index = 0, Embedding = new PooledValue(Floats: [0.5f]) }], Usage = UsageInfo.Pooling(3) };
        Assert.Equal("""{"id":"embd-1","object":"list","created":2,"model":"m","data":[{"index":0,"object":"embedding","embedding":[0.5]}],"usage":{"prompt_tokens":3,"total_tokens":3}}""",
            Write(embd, ProtocolJson.Default.PoolingListResponseEmbeddingData));
        var rerank = new RerankResponse { Id = "rerank-1", Model = "m", Usage = UsageInfo.TotalOnly(4), Results = [new RerankResult { Index = 1, Document = new RerankDocument("d", true), RelevanceScore = 0.25f }, new RerankResult { Index = 0, RelevanceScore = 0.125f }] };
        Assert.Equal("""{"id":"rerank-1","model":"m","usage":{"total_tokens":4},"results":[{"index":1,"document":{"text":"d"},"relevance_score":0.25},{"index":0,"relevance_score":0.125}]}""",
            Write(rerank, ProtocolJson.Default.RerankResponse));
        Assert.Equal("""{"object":"list","data":[{"id":"m","object":"model","owned_by":"pipeline","root":"/d","max_model_len":8}]}""",
            Write(new ModelList { Data = [new ModelCard { Id = "m", Root = "/d", MaxModelLen = 8 }] }, ProtocolJson.Default.ModelList));
    }
}
