namespace Pipeline.Models.Lora;

/// <summary>
/// A request's adapter (vLLM's LoRARequest): the name clients use, a unique id (the prefix-cache key and the GPU
/// slot key; a re-loaded name gets a new one) and the adapter directory, which the runner reads again if the
/// adapter was evicted from CPU memory.
/// </summary>
public sealed record LoRARequest(string LoraName, int LoraIntId, string LoraPath);
