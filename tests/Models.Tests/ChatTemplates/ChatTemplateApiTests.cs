using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>ChatTemplate, ChatTemplateContext and ChatTemplateResolver; expected strings checked against jinja2.</summary>
public class ChatTemplateApiTests
{
    internal static IReadOnlyList<JsonNode?> Messages(string json) => JsonNode.Parse(json)!.AsArray().ToList();

    private static string OwnTemplate(string tokenizer)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", tokenizer, "tokenizer_config.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return ChatTemplateResolver.FromTokenizerConfig(doc.RootElement)!;
    }

    [Fact]
    public void ContinueFinalMessageCutsAfterTheContent()
    {
        var rendered = new ChatTemplate(OwnTemplate("qwen2_5")).Render(new ChatTemplateContext
        {
            Messages = Messages("""[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "The answer is "}]"""),
            ContinueFinalMessage = true,
        });
        Assert.Equal("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nThe answer is ", rendered);
    }

    [Fact]
    public void ContinueFinalMessageHandlesTemplatesThatTrimContent()
    {
        var rendered = new ChatTemplate(OwnTemplate("llama3_1")).Render(new ChatTemplateContext
        {
            Messages = Messages("""[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure "}]"""),
            ContinueFinalMessage = true,
            BosToken = "<|begin_of_text|>",
        });
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nSure", rendered);
    }

    [Fact]
    public void ContinueFinalMessageUsesTheLastTextBlock()
    {
        var rendered = new ChatTemplate("{% for m in messages %}[{{ m.content[-1].text }}]END{% endfor %}").Render(new ChatTemplateContext
        {
            Messages = Messages("""[{"role": "assistant", "content": [{"type": "text", "text": "partial"}]}]"""),
            ContinueFinalMessage = true,
        });
        Assert.Equal("[partial", rendered);
    }

    [Fact]
    public void ExtraKwargsReachTheTemplate()
    {
        var rendered = new ChatTemplate(OwnTemplate("qwen3")).Render(new ChatTemplateContext
        {
            Messages = Messages("""[{"role": "user", "content": "Hi"}]"""),
            AddGenerationPrompt = true,
            Extra = new Dictionary<string, object?> { ["enable_thinking"] = false },
        });
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", rendered);
    }

    [Fact]
    public void Qwen3DropsPastReasoningAndGroupsToolResponses()
    {
        var template = new ChatTemplate(OwnTemplate("qwen3"));
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n",
            template.Render(new ChatTemplateContext
            {
                Messages = Messages("""[{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nA"}, {"role": "user", "content": "Q2"}]"""),
                AddGenerationPrompt = true,
            }));
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>\n\nA\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
            template.Render(new ChatTemplateContext
            {
                Messages = Messages("""[{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nA", "tool_calls": [{"function": {"name": "f", "arguments": "{\"x\": 1}"}}]}, {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"}]"""),
                AddGenerationPrompt = true,
            }));
    }

    [Fact]
    public void ToolsAndDocumentsAreNoneWhenAbsentAndUnsetTokensUndefined()
    {
        var t = new ChatTemplate("{{ tools is defined }} {{ tools is none }} {{ documents is none }} {{ bos_token is defined }} {{ eos_token }} {{ add_generation_prompt }}");
        Assert.Equal("True True True False <|im_end|> False", t.Render(new ChatTemplateContext { Messages = [], EosToken = "<|im_end|>" }));
        var withTools = new ChatTemplate("{{ tools | length }} {{ tools[0].name }} {{ documents[0].title }}");
        Assert.Equal("1 f doc", withTools.Render(new ChatTemplateContext
        {
            Tools = Messages("""[{"name": "f"}]"""),
            Documents = Messages("""[{"title": "doc"}]"""),
        }));
    }

    [Fact]
    public void ExtraAcceptsClrValues()
    {
        var t = new ChatTemplate("{{ n + 1 }} {{ f }} {{ l | join(',') }} {{ m.k }} {{ e.x }}");
        Assert.Equal("3 0.5 a,b v 1", t.Render(new ChatTemplateContext
        {
            Extra = new Dictionary<string, object?>
            {
                ["n"] = 2,
                ["f"] = 0.5,
                ["l"] = new List<string> { "a", "b" },
                ["m"] = new Dictionary<string, object?> { ["k"] = "v" },
                ["e"] = JsonDocument.Parse("""{"x": 1}""").RootElement,
            },
        }));
    }

    [Fact]
    public void ContextAcceptsJsonElementArrays()
    {
        using var request = JsonDocument.Parse("""{"messages": [{"role": "user", "content": "Hi"}], "tools": [{"name": "f"}]}""");
        var t = new ChatTemplate("{{ messages[0].content }} {{ tools[0].name }} {{ strftime_now('%Y') }}") { Clock = () => new DateTime(2031, 1, 2) };
        Assert.Equal("Hi f 2031", t.Render(new ChatTemplateContext
        {
            Messages = ChatTemplateContext.Nodes(request.RootElement.GetProperty("messages")),
            Tools = ChatTemplateContext.Nodes(request.RootElement.GetProperty("tools")),
        }));
        Assert.Throws<ArgumentException>(() => ChatTemplateContext.Nodes(request.RootElement));
    }

    [Fact]
    public void JinjaTemplateRendersManyTimes()
    {
        var t = new JinjaTemplate("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}");
        Assert.Equal("6", t.Render(new Dictionary<string, object?> { ["xs"] = new List<object?> { 1L, 2L, 3L } }));
        Assert.Equal("10", t.Render(new Dictionary<string, object?> { ["xs"] = JsonNode.Parse("[10]") }));
        Assert.Equal("0", t.Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void OneTemplateRendersConcurrently()
    {
        var template = new ChatTemplate(OwnTemplate("qwen3"));
        var results = new string[64];
        Parallel.For(0, results.Length, i => results[i] = template.Render(new ChatTemplateContext
        {
            Messages = Messages($$"""[{"role": "user", "content": "q{{i}}"}, {"role": "assistant", "content": "<think>t</think>a{{i}}"}, {"role": "user", "content": "again"}]"""),
            AddGenerationPrompt = true,
        }));
        for (int i = 0; i < results.Length; i++)
            Assert.Equal($"<|im_start|>user\nq{i}<|im_end|>\n<|im_start|>assistant\na{i}<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n", results[i]);
    }

    [Fact]
    public void StrftimeNowFormatsLikePython()
    {
        var t = new JinjaTemplate("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%-d %B %Y %H:%M:%S %A %p %I %j %y %a %m') }}")
        {
            Clock = () => new DateTime(2024, 7, 26, 9, 5, 3),
        };
        Assert.Equal("26 Jul 2024|26 July 2024 09:05:03 Friday AM 09 208 24 Fri 07", t.Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void ResolverReadsAFileOrTakesTheString()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{{ 'from file' }}");
            Assert.Equal("{{ 'from file' }}", ChatTemplateResolver.Resolve(path, "default"));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Equal("{{ 'inline' }}", ChatTemplateResolver.Resolve("{{ 'inline' }}", "default"));
        Assert.Equal("default", ChatTemplateResolver.Resolve(null, "default"));
    }

    [Fact]
    public void ResolverExplainsAMissingTemplate()
    {
        var ex = Assert.Throws<TemplateException>(() => ChatTemplateResolver.Resolve(null, null));
        Assert.Contains("no chat template", ex.Message);
        Assert.Contains("--chat-template", ex.Message);
        Assert.Throws<TemplateException>(() => ChatTemplateResolver.Resolve(null, ""));
        var missing = Assert.Throws<TemplateException>(() => ChatTemplateResolver.Resolve("/no/such/template.jinja", null));
        Assert.Contains("/no/such/template.jinja", missing.Message);
    }

    [Fact]
    public void TokenizerConfigTemplateListPicksDefault()
    {
        using var doc = JsonDocument.Parse("""{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}], "bos_token": {"content": "<s>"}}""");
        Assert.Equal("D", ChatTemplateResolver.FromTokenizerConfig(doc.RootElement));
        Assert.Equal("<s>", ChatTemplateResolver.SpecialToken(doc.RootElement, "bos_token"));
        Assert.Null(ChatTemplateResolver.SpecialToken(doc.RootElement, "eos_token"));
    }
}
