using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>The source-generated reader and writer of every protocol type; field names are vLLM's (snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(ClassifyRequest))]
[JsonSerializable(typeof(ScoreRequest))]
[JsonSerializable(typeof(RerankRequest))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(DetokenizeRequest))]
[JsonSerializable(typeof(QueueEnvelope))]
public sealed partial class ProtocolJson : JsonSerializerContext;
