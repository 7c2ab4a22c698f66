namespace Pipeline.Models.Pooling;

/// <summary>A bad pooler configuration, pooling parameter or pooling input; the message names the field or input.</summary>
public sealed class PoolingException(string message) : Exception(message);
