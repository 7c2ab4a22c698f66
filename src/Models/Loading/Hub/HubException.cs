namespace Pipeline.Models.Loading.Hub;

/// <summary>A download failed; the message names the model, what went wrong and what to do.</summary>
public class HubException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A downloaded file's content does not match the checksum the hub gave; the file was removed.</summary>
public sealed class HubChecksumException(string message) : HubException(message);
