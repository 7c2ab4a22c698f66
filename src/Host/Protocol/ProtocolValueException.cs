using System.Text.Json;

namespace Pipeline.Host.Protocol;

/// <summary>
/// Thrown by the protocol's converters for a value of the wrong form. The converter does not know which field it
/// reads, so it gives only the predicate ("must not be empty"); <see cref="FieldErrors"/> puts the field's name before it.
/// </summary>
public sealed class ProtocolValueException(string predicate) : JsonException(predicate)
{
    public string Predicate { get; } = predicate;
}
