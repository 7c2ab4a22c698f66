namespace Pipeline.Host.Protocol;

/// <summary>
/// The queue's own fields in a request message, beside the completion or chat body (docs/queue.md); the AMQP
/// properties of the same names take precedence.
/// </summary>
public sealed record QueueEnvelope : ProtocolMessage
{
    public string? RequestId { get; init; }
    public string? ReplyTo { get; init; }
    public string? CorrelationId { get; init; }

    /// <summary>The envelope's field names: known fields of every queue message.</summary>
    public static readonly IReadOnlyCollection<string> FieldNames =
        ProtocolJson.Default.QueueEnvelope.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name).ToHashSet();
}
