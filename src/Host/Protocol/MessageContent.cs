using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>
/// One part of a chat message's content: text, an image (OpenAI's image_url part; detail is accepted), or audio
/// (OpenAI's input_audio part with base64 data and its format, or vLLM's audio_url part).
/// </summary>
public sealed record ContentPart(string Type, string? Text = null, string? ImageUrl = null, string? Detail = null,
    string? AudioUrl = null, string? AudioData = null, string? AudioFormat = null)
{
    public static ContentPart OfText(string text) => new("text", Text: text);
    public static ContentPart OfImage(string url, string? detail = null) => new("image_url", ImageUrl: url, Detail: detail);
    public static ContentPart OfAudioUrl(string url) => new("audio_url", AudioUrl: url);

    /// <summary>input_audio: the base64 data travels to the preprocessing stage as a data: URL of the named format.</summary>
    public static ContentPart OfInputAudio(string data, string format) =>
        new("input_audio", AudioUrl: $"data:audio/{format};base64,{data}", AudioData: data, AudioFormat: format);

    public bool IsAudio => Type is "input_audio" or "audio_url";
}

/// <summary>
/// A chat message's content: a string, a list of parts (text and image_url), or an explicit null (an assistant turn with
/// tool calls).
/// </summary>
[JsonConverter(typeof(MessageContentConverter))]
public sealed record MessageContent(string? Text, IReadOnlyList<ContentPart>? Parts)
{
    /// <summary>The text the chat template sees: the string, or the text parts joined with newlines (as vLLM's string format does).</summary>
    public string? Joined => Text ?? (Parts == null ? null : string.Join("\n", Parts.Where(p => p.Type == "text").Select(p => p.Text)));

    public IEnumerable<string> ImageUrls => Parts?.Where(p => p.Type == "image_url").Select(p => p.ImageUrl!) ?? [];

    /// <summary>The audio parts' sources in order (input_audio as data: URLs).</summary>
    public IEnumerable<string> AudioUrls => Parts?.Where(p => p.IsAudio).Select(p => p.AudioUrl!) ?? [];

    /// <summary>
    /// What the chat template's message.content is: the joined text, or, when there are images or audio, the parts as
    /// transformers passes them to a multimodal template ({"type": "image"}, {"type": "text", "text": ...}, and
    /// {"type": "audio", "audio_url": ...} as Qwen2-Audio's processor documents its messages: templates that test
    /// content['type'] and those that test 'audio_url' in content, like Qwen2-Audio-7B-Instruct's, both see the clip).
    /// </summary>
    public JsonNode? TemplateContent()
    {
        if (!ImageUrls.Any() && !AudioUrls.Any()) return Joined;
        var parts = new JsonArray();
        foreach (var p in Parts!)
            parts.Add(p.Type == "text" ? new JsonObject { ["type"] = "text", ["text"] = p.Text }
                : p.IsAudio ? new JsonObject { ["type"] = "audio", ["audio_url"] = p.AudioUrl }
                : new JsonObject { ["type"] = "image" });
        return parts;
    }
}

public sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    const string Forms = "must be a string or a list of content parts (text, image_url, input_audio, audio_url)";

    public override bool HandleNull => true;

    public override MessageContent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return new(null, null);
            case JsonTokenType.String: return new(reader.GetString(), null);
            case JsonTokenType.StartArray:
                using (var doc = JsonDocument.ParseValue(ref reader))
                    return new(null, doc.RootElement.EnumerateArray().Select(Part).ToList());
            default: throw new ProtocolValueException(Forms);
        }
    }

    static ContentPart Part(JsonElement part)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw new ProtocolValueException("must be a string or a list of content parts, each an object with a string 'type' (text, image_url, input_audio, audio_url)");
        switch (type.GetString())
        {
            case "text":
                return part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                    ? ContentPart.OfText(text.GetString()!) : throw new ProtocolValueException("must have 'text' (a string) in each text part");
            case "image_url":
                if (!part.TryGetProperty("image_url", out var image))
                    throw new ProtocolValueException("must have 'image_url' (a URL string or {\"url\": ...}) in each image_url part");
                if (image.ValueKind == JsonValueKind.String) return ContentPart.OfImage(image.GetString()!);
                if (image.ValueKind != JsonValueKind.Object || !image.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                    throw new ProtocolValueException("must have image_url as a URL string or an object with 'url' (a string)");
                string? detail = null;
                if (image.TryGetProperty("detail", out var d) && d.ValueKind != JsonValueKind.Null)
                {
                    detail = d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                    if (detail is not ("auto" or "low" or "high"))
                        throw new ProtocolValueException("must have image_url.detail as one of auto, low, high");
                }
                return ContentPart.OfImage(url.GetString()!, detail);
            case "input_audio":
                if (!part.TryGetProperty("input_audio", out var input) || input.ValueKind != JsonValueKind.Object
                    || !input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.String)
                    throw new ProtocolValueException("must have 'input_audio' as an object with 'data' (base64 audio) and 'format' in each input_audio part");
                if (!input.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
                    || format.GetString() is not { Length: > 0 } f || !f.All(char.IsAsciiLetterOrDigit))
                    throw new ProtocolValueException("must have input_audio.format as the audio's format name (wav, mp3, flac, ogg)");
                return ContentPart.OfInputAudio(data.GetString()!, f.ToLowerInvariant());
            case "audio_url":
                if (!part.TryGetProperty("audio_url", out var audio))
                    throw new ProtocolValueException("must have 'audio_url' (a URL string or {\"url\": ...}) in each audio_url part");
                if (audio.ValueKind == JsonValueKind.String) return ContentPart.OfAudioUrl(audio.GetString()!);
                if (audio.ValueKind != JsonValueKind.Object || !audio.TryGetProperty("url", out var audioUrl) || audioUrl.ValueKind != JsonValueKind.String)
                    throw new ProtocolValueException("must have audio_url as a URL string or an object with 'url' (a string)");
                return ContentPart.OfAudioUrl(audioUrl.GetString()!);
            case var other:
                throw new ProtocolValueException($"must not have a part of type '{other}' (supported: text, image_url, input_audio, audio_url)");
        }
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options)
    {
        if (value.Parts == null) { if (value.Text == null) writer.WriteNullValue(); else writer.WriteStringValue(value.Text); return; }
        writer.WriteStartArray();
        foreach (var p in value.Parts)
        {
            writer.WriteStartObject();
            writer.WriteString("type", p.Type);
            if (p.Type == "text") writer.WriteString("text", p.Text);
            else if (p.Type == "input_audio")
            {
                writer.WriteStartObject("input_audio");
                writer.WriteString("data", p.AudioData);
                writer.WriteString("format", p.AudioFormat);
                writer.WriteEndObject();
            }
            else if (p.Type == "audio_url")
            {
                writer.WriteStartObject("audio_url");
                writer.WriteString("url", p.AudioUrl);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteStartObject("image_url");
                writer.WriteString("url", p.ImageUrl);
                if (p.Detail != null) writer.WriteString("detail", p.Detail);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
