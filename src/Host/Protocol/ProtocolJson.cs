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
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(PoolingListResponse<EmbeddingData>))]
[JsonSerializable(typeof(PoolingListResponse<PoolingData>))]
[JsonSerializable(typeof(PoolingListResponse<ClassificationData>))]
[JsonSerializable(typeof(PoolingListResponse<ScoreData>))]
[JsonSerializable(typeof(RerankResponse))]
[JsonSerializable(typeof(TokenizeResponse))]
[JsonSerializable(typeof(DetokenizeResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(StreamErrorResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(QueueAccepted))]
[JsonSerializable(typeof(TranscriptionResponse))]
[JsonSerializable(typeof(TranscriptionResponseVerbose))]
[JsonSerializable(typeof(TranscriptionStreamResponse))]
[JsonSerializable(typeof(TranscriptionRequest))]
public sealed partial class ProtocolJson : JsonSerializerContext;
