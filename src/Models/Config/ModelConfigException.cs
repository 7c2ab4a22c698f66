namespace Pipeline.Models.Config;

/// <summary>config.json (or an override) is missing a field, has a wrong value, or describes something unsupported.</summary>
public sealed class ModelConfigException(string message) : Exception(message);
