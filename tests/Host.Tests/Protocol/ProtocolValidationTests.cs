using System.Text.Json;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>Bad types, forms and ranges are 400s whose message names the field and whose param is the top-level field.</summary>
public class ProtocolValidationTests
{
    static ApiError Fails(string type, string json)
    {
        var reader = RequestReader.Lenient;
        var body = JsonDocument.Parse(json).RootElement;
        Action read = type switch
        {
            "completion" => () => reader.Read<CompletionRequest>(body, "t"),
            "chat" => () => reader.Read<ChatCompletionRequest>(body, "t"),
            "embedding" => () => reader.Read<EmbeddingRequest>(body, "t"),
            "score" => () => reader.Read<ScoreRequest>(body, "t"),
            "rerank" => () => reader.Read<RerankRequest>(body, "t"),
            "detokenize" => () => reader.Read<DetokenizeRequest>(body, "t"),
            _ => throw new ArgumentException(type),
        };
        return Assert.Throws<ApiError>(read);
    }

    [Theory]
    [InlineData("completion", """{"prompt":"x","top_p":"high"}""", "top_p must be a number", "top_p")]
    [InlineData("completion", """{"prompt":"x","max_tokens":1.5}""", "max_tokens must be an integer", "max_tokens")]
    [InlineData("completion", """{"prompt":"x","n":99999999999}""", "n must be an integer", "n")]
    [InlineData("completion", """{"prompt":"x","stream":"yes"}""", "stream must be a boolean", "stream")]
    [InlineData("completion", """{"prompt":"x","stop_token_ids":3}""", "stop_token_ids must be a list of integers", "stop_token_ids")]
    [InlineData("completion", """{"prompt":[]}""", "prompt must not be empty", "prompt")]
    [InlineData("completion", """{"prompt":[1,"a"]}""", "prompt must be a string, a list of strings, a list of token ids, or a list of token-id lists", "prompt")]
    [InlineData("completion", """{"prompt":{"a":1}}""", "prompt must be a string, a list of strings", "prompt")]
    [InlineData("completion", """{"prompt":[1.5]}""", "prompt token ids must be integers", "prompt")]
    [InlineData("completion", """{"prompt":[[1],[]]}""", "prompt token lists must not be empty", "prompt")]
    [InlineData("completion", """{"prompt":"x","stop":[1]}""", "stop must be a string or a list of strings", "stop")]
    [InlineData("completion", """{"prompt":"x","logit_bias":{"5":"a"}}""", "logit_bias.5 must be a number", "logit_bias")]
    [InlineData("completion", """{"prompt":"x","logit_bias":{"five":1}}""", "logit_bias key 'five' is not a token id", "logit_bias")]
    [InlineData("completion", """{"prompt":"x","stream":true,"stream_options":{"include_usage":1}}""", "stream_options.include_usage must be a boolean", "stream_options")]
    [InlineData("completion", """{"prompt":"x","n":200}""", "n must be at most 128", "n")]
    [InlineData("completion", """{"prompt":"x","logprobs":21}""", "logprobs must be between 0 and 20", "logprobs")]
    [InlineData("completion", """{"max_tokens":3}""", "prompt is required", "prompt")]
    [InlineData("chat", """{"messages":[{"role":1}]}""", "messages[0].role must be a string", "messages")]
    [InlineData("chat", """{"messages":[{"content":"x"}]}""", "messages[0].role must be a string", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content must have 'image_url' (a URL string or {\"url\": ...}) in each image_url part", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"video_url"}]}]}""", "messages[0].content must not have a part of type 'video_url' (supported: text, image_url, input_audio, audio_url)", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"input_audio"}]}]}""", "messages[0].content must have 'input_audio' as an object with 'data' (base64 audio) and 'format' in each input_audio part", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"../x"}}]}]}""", "messages[0].content must have input_audio.format as the audio's format name (wav, mp3, flac, ogg)", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"audio_url","audio_url":{}}]}]}""", "messages[0].content must have audio_url as a URL string or an object with 'url' (a string)", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,","detail":"max"}}]}]}""", "messages[0].content must have image_url.detail as one of auto, low, high", "messages")]
    [InlineData("chat", """{"messages":"hi"}""", "messages must be a list", "messages")]
    [InlineData("chat", """{"messages":[{"role":"user","content":"x"}],"tools":{}}""", "tools must be a list", "tools")]
    [InlineData("chat", """{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "top_logprobs requires logprobs", "top_logprobs")]
    [InlineData("embedding", """{"input":"x","dimensions":"a"}""", "dimensions must be an integer", "dimensions")]
    [InlineData("embedding", """{"input":"x","encoding_format":"hex"}""", "encoding_format must be float or base64", "encoding_format")]
    [InlineData("embedding", """{"encoding_format":"float"}""", "input is required", "input")]
    [InlineData("score", """{"text_1":["a","b"],"text_2":["c","d","e"]}""", "text_1 must be one text or as many as text_2", "text_1")]
    [InlineData("rerank", """{"query":"q","documents":["a",1]}""", "documents[1] must be a string or an object with a \"text\" string", "documents")]
    [InlineData("rerank", """{"query":"q","documents":["a"],"top_n":0}""", "top_n must be at least 1", "top_n")]
    [InlineData("detokenize", """{"tokens":"a"}""", "tokens must be a list of integers", "tokens")]
    public void BadFieldsAreNamed(string type, string json, string message, string param)
    {
        var e = Fails(type, json);
        Assert.Equal(400, e.Status);
        Assert.Contains(message, e.Message);
        Assert.Equal(param, e.Param);
    }

    [Fact]
    public void StreamOptionsNeedStreamOverHttp()
    {
        var r = RequestReader.Lenient.Read<CompletionRequest>(JsonDocument.Parse("""{"prompt":"x","stream_options":{"include_usage":true}}""").RootElement, "t");
        var e = Assert.Throws<ApiError>(() => r.StreamUsage());
        Assert.Equal("stream_options", e.Param);
    }

    [Fact]
    public void NullMeansAbsent()
    {
        var r = RequestReader.Lenient.Read<CompletionRequest>(JsonDocument.Parse("""{"prompt":"x","temperature":null,"stop":null}""").RootElement, "t");
        Assert.Null(r.Temperature);
        Assert.Null(r.Stop);
    }
}
