using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>Every polymorphic form of the typed requests reads and writes back as it was sent.</summary>
public class ProtocolRoundTripTests
{
    static void RoundTrips<T>(string json) where T : ProtocolMessage
    {
        var typed = RequestReader.Deserialize<T>(JsonDocument.Parse(json).RootElement);
        var written = JsonSerializer.Serialize(typed, ProtocolJson.Default.GetTypeInfo(typeof(T))!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(written)), $"{json} came back as {written}");
    }

    [Theory]
    [InlineData("""{"prompt":"hello"}""")]
    [InlineData("""{"prompt":["a","b"]}""")]
    [InlineData("""{"prompt":[1,2,3]}""")]
    [InlineData("""{"prompt":[[1,2],[3]]}""")]
    [InlineData("""{"prompt":"x","stop":"end"}""")]
    [InlineData("""{"prompt":"x","stop":["a","b"],"bad_words":"no","logit_bias":{"5":-100},"stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData("""{"prompt":"x","temperature":0.5,"top_k":3,"seed":7,"max_tokens":4,"logprobs":2,"echo":true,"model":"m"}""")]
    public void CompletionForms(string json) => RoundTrips<CompletionRequest>(json);

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}""")]
    [InlineData("""{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","content":"4","tool_call_id":"1"}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tool_choice":"auto","response_format":{"type":"json_object"},"tools":[{"type":"function"}],"chat_template_kwargs":{"enable_thinking":false}}""")]
    public void ChatForms(string json) => RoundTrips<ChatCompletionRequest>(json);

    [Theory]
    [InlineData("""{"input":"one"}""")]
    [InlineData("""{"input":["one","two"],"encoding_format":"base64","dimensions":8}""")]
    [InlineData("""{"input":[5,6]}""")]
    [InlineData("""{"input":[[5,6],[7]],"normalize":false}""")]
    public void EmbeddingForms(string json) => RoundTrips<EmbeddingRequest>(json);

    [Fact]
    public void ScoreRerankTokenizeForms()
    {
        RoundTrips<ScoreRequest>("""{"text_1":"q","text_2":["a","b"]}""");
        RoundTrips<ScoreRequest>("""{"text_1":["q","r"],"text_2":["a","b"]}""");
        RoundTrips<RerankRequest>("""{"query":"q","documents":["a",{"text":"b"}],"top_n":1,"return_documents":false}""");
        RoundTrips<TokenizeRequest>("""{"prompt":"x","add_special_tokens":false}""");
        RoundTrips<DetokenizeRequest>("""{"tokens":[1,2]}""");
    }

    [Fact]
    public void ChatContentPartsReachTheTemplateAsOneString()
    {
        var r = RequestReader.Deserialize<ChatCompletionRequest>(JsonDocument.Parse("""{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"name":"n"}]}""").RootElement);
        var node = r.TemplateMessages()[0]!;
        Assert.Equal("a\nb", node["content"]!.GetValue<string>());
        Assert.Equal("n", node["name"]!.GetValue<string>());
    }
}
