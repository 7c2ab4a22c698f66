using Pipeline.Actors.Chat;
using Pipeline.Actors.Engine;
using Pipeline.Streams;

namespace Pipeline.Host.Http;

/// <summary>What the endpoints share: the running engine, the served model's name, its tokenizer and chat renderer.</summary>
public sealed class ServerContext
{
    public required PipelineEngine Engine { get; init; }
    public required string ServedModelName { get; init; }
    public required ModelContext Model { get; init; }
    public ChatPromptRenderer? Chat { get; init; }
    public string? ChatTemplateError { get; init; }
    public required ServingMetrics Metrics { get; init; }
    /// <summary>The queue service mode, when it is on: its transport and the hub /v1/streams reads.</summary>
    public Pipeline.Host.Queue.QueueService? Queue { get; set; }
    /// <summary>Reads request bodies (HTTP and queue): how unknown fields are treated (--strict-request-fields).</summary>
    public Pipeline.Host.Protocol.RequestReader Requests { get; init; } = Pipeline.Host.Protocol.RequestReader.Lenient;
    /// <summary>Tool calling and reasoning output: --enable-auto-tool-choice, --tool-call-parser, --reasoning-parser.</summary>
    public Pipeline.Host.Protocol.ChatParsingOptions ChatParsing { get; init; } = Pipeline.Host.Protocol.ChatParsingOptions.None;
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    /// <summary>The served model and its LoRA adapters (--enable-lora), by the names requests use.</summary>
    public ServingModels Models { get => _models ??= new ServingModels(ServedModelName, []); init => _models = value; }
    ServingModels? _models;

    /// <summary>404 unless the request names no model, the served one, or a loaded adapter.</summary>
    public void CheckModel(string? requested) => Models.Resolve(requested);

    /// <summary>The adapter a request's `model` names (null for the base model); 404 for an unknown name.</summary>
    public Pipeline.Models.Lora.LoRARequest? ResolveModel(string? requested) => Models.Resolve(requested);
}
