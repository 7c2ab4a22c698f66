namespace Pipeline.Models.Lora;

/// <summary>An adapter that cannot be served: malformed files, a rank above --max-lora-rank, modules the model lacks.</summary>
public sealed class LoRAException(string message) : ArgumentException(message);
