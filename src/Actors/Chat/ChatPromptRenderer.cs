using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Chat;

/// <summary>
/// Renders chat messages into a prompt with the model's chat template (or one given with --chat-template), the
/// way vLLM's chat endpoint does: bos/eos tokens from the tokenizer, tools and documents passed through, extra
/// template kwargs allowed. The rendered text already holds its special tokens, so it is tokenized without adding more.
/// </summary>
public sealed class ChatPromptRenderer
{
    readonly ChatTemplate _template;
    readonly HfTokenizer _tokenizer;

    public ChatPromptRenderer(HfTokenizer tokenizer, string? chatTemplateOption)
    {
        _tokenizer = tokenizer;
        _template = new ChatTemplate(ChatTemplateResolver.Resolve(chatTemplateOption, tokenizer.ChatTemplate));
    }

    public string Render(IReadOnlyList<JsonNode?> messages, IReadOnlyList<JsonNode?>? tools = null, IReadOnlyList<JsonNode?>? documents = null,
        bool addGenerationPrompt = true, bool continueFinalMessage = false, IReadOnlyDictionary<string, object?>? kwargs = null)
    {
        if (messages.Count == 0) throw new ArgumentException("messages must not be empty");
        if (addGenerationPrompt && continueFinalMessage)
            throw new ArgumentException("add_generation_prompt and continue_final_message cannot both be true");
        return _template.Render(new ChatTemplateContext
        {
            Messages = messages,
            Tools = tools,
            Documents = documents,
            AddGenerationPrompt = addGenerationPrompt,
            ContinueFinalMessage = continueFinalMessage,
            BosToken = _tokenizer.BosToken,
            EosToken = _tokenizer.EosToken,
            Extra = kwargs ?? new Dictionary<string, object?>(),
        });
    }

    public int[] Tokenize(string rendered) => _tokenizer.Encode(rendered, addSpecialTokens: false);
}
