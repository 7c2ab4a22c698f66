using System.Text.Json.Nodes;
using Pipeline.Host.Protocol;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Host.Tests.Protocol;

/// <summary>
/// Audio content parts reach the chat template as {"type": "audio", "audio_url": ...}, the form Qwen2AudioProcessor
/// documents: the template transformers 5.17 ships as Qwen2AudioProcessor.default_chat_template (it tests
/// content['type']) and the older one Qwen2-Audio checkpoints carry (it tests 'audio' in content or 'audio_url' in
/// content) both render the clip's line, for input_audio and audio_url parts alike.
/// </summary>
public class AudioTemplateContentTests
{
    const string Older =
        "{% set audio_count = namespace(value=0) %}{% for message in messages %}<|im_start|>{{ message['role'] }}\n" +
        "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}" +
        "{% if 'audio' in content or 'audio_url' in content %}{% set audio_count.value = audio_count.value + 1 %}" +
        "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n{% elif 'text' in content %}{{ content['text'] }}{% endif %}" +
        "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}";

    static string Fixture => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "qwen2-audio", "chat_template.jinja"));

    [Fact]
    public void Both_qwen2_audio_templates_render_input_audio_and_audio_url_parts()
    {
        var content = new MessageContent(null,
        [
            ContentPart.OfInputAudio("UklGRg==", "wav"), ContentPart.OfAudioUrl("https://example.com/a.mp3"), ContentPart.OfText("compare them ."),
        ]);
        var messages = new List<JsonNode?> { new JsonObject { ["role"] = "user", ["content"] = content.TemplateContent() } };
        const string lines = "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nAudio 2: <|audio_bos|><|AUDIO|><|audio_eos|>\ncompare them .<|im_end|>\n";
        Assert.Equal("<|im_start|>user\n" + lines, new ChatTemplate(Older).Render(new ChatTemplateContext { Messages = messages }));
        Assert.EndsWith("<|im_start|>user\n" + lines, new ChatTemplate(Fixture).Render(new ChatTemplateContext { Messages = messages }));
    }
}
