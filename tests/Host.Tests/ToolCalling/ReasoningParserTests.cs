using Pipeline.Host.Reasoning;
using Pipeline.Host.ToolParsers;
using static Pipeline.Host.Tests.ToolCalling.OutputParsing;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>Each --reasoning-parser on thinking written as its models write it, whole and streamed.</summary>
public class ReasoningParserTests
{
    static Result Check(string parser, string text, bool startsInReasoning = false) =>
        CheckStreaming(() => Parser(parser, null, ToolSet.Empty, startsInReasoning), text);

    [Fact]
    public void DeepSeekR1()
    {
        // DeepSeek-R1 model card: the template opens "<think>\n", so the output is the thinking, </think>, the answer.
        var r = Check("deepseek_r1", "The user greets me. I should greet back.\n</think>\n\nHello! How can I help you today?");
        Assert.Equal("The user greets me. I should greet back.\n", r.Reasoning);
        Assert.Equal("\n\nHello! How can I help you today?", r.Content);
        // DeepSeek-R1-0528 writes the <think> itself.
        var withStart = Check("deepseek_r1", "<think>\nHmm.\n</think>\n\n9.11 is smaller.");
        Assert.Equal("\nHmm.\n", withStart.Reasoning);
        Assert.Equal("\n\n9.11 is smaller.", withStart.Content);
        // Cut off while thinking (finish_reason length): all of it is reasoning.
        var cut = Check("deepseek_r1", "Let me think about this step by step. First");
        Assert.Equal("Let me think about this step by step. First", cut.Reasoning);
        Assert.Null(cut.Content);
    }

    [Fact]
    public void Qwen3()
    {
        // Qwen3 model card: "<think>...</think>" then the answer; with enable_thinking=False the template closes an
        // empty think block in the prompt and the output is plain content.
        var r = Check("qwen3", "<think>\nOkay, the user wants a short introduction to large language models.\n</think>\n\nA large language model is a neural network trained on text.");
        Assert.Equal("\nOkay, the user wants a short introduction to large language models.\n", r.Reasoning);
        Assert.Equal("\n\nA large language model is a neural network trained on text.", r.Content);
        var plain = Check("qwen3", "A large language model is a neural network trained on text.");
        Assert.Null(plain.Reasoning);
        Assert.Equal("A large language model is a neural network trained on text.", plain.Content);
        // Qwen3 thinking-2507 templates open <think> in the prompt: the output starts inside the thinking.
        var opened = Check("qwen3", "Short answer needed.\n</think>\n\nLLMs predict the next token.", startsInReasoning: true);
        Assert.Equal("Short answer needed.\n", opened.Reasoning);
        Assert.Equal("\n\nLLMs predict the next token.", opened.Content);
        Assert.True(ReasoningParserManager.Get("qwen3").PromptOpensReasoning("<|im_start|>assistant\n<think>\n"));
        Assert.False(ReasoningParserManager.Get("qwen3").PromptOpensReasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    }

    [Fact]
    public void Granite()
    {
        // Granite 3.2 model card ("thinking": true): the thought process, then the response.
        var r = Check("granite", "Here is my thought process:\nThe user asks for 2+2. That is 4.\n\nHere is my response:\n2 + 2 = 4.");
        Assert.Equal("\nThe user asks for 2+2. That is 4.\n\n", r.Reasoning);
        Assert.Equal("\n2 + 2 = 4.", r.Content);
        Assert.Equal("No thinking here.", Check("granite", "No thinking here.").Content);
    }
}
