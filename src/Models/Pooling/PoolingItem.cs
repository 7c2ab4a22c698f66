using Pipeline.Models.Architectures;

namespace Pipeline.Models.Pooling;

/// <summary>What one pooling request asks for: the input (token ids, token type ids), its task and its parameters.</summary>
public sealed record PoolingItem(PoolingInput Input, PoolingTask Task, PoolingParams Params);
