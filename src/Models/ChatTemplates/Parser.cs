namespace Pipeline.Models.ChatTemplates;

/// <summary>Recursive-descent parser producing the statement tree; precedence follows jinja2's parser.</summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private int _i;
    private int _loopDepth;

    // Recursive descent uses the CLR stack; refuse absurd nesting instead of overflowing it.
    private const int MaxNesting = 300;
    private int _nesting;

    private void Enter()
    {
        if (++_nesting > MaxNesting) throw Error("template nesting too deep", Cur);
    }

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static List<Stmt> Parse(string source)
    {
        var p = new Parser(Lexer.Tokenize(source));
        var (body, end) = p.ParseBody([]);
        if (end != null) throw Error($"unexpected '{end}'", p.Prev);
        return body;
    }

    private Token Cur => _tokens[_i];
    private Token Prev => _tokens[Math.Max(0, _i - 1)];
    private Token Peek(int n = 1) => _tokens[Math.Min(_i + n, _tokens.Count - 1)];
    private Token Next() => _tokens[_i < _tokens.Count - 1 ? _i++ : _i];

    private static TemplateException Error(string msg, Token t) => new(msg, t.Line, t.Column);

    private T At<T>(T node, Token t) where T : Node => node with { Line = t.Line, Column = t.Column };

    private Token Expect(TokenKind kind, string? text = null)
    {
        var t = Cur;
        if (t.Kind != kind || (text != null && t.Text != text))
        {
            string want = text != null ? $"'{text}'" : kind switch
            {
                TokenKind.Name => "a name",
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VarEnd => "end of print statement",
                _ => kind.ToString(),
            };
            throw Error($"expected {want}, got {t.Describe()}", t);
        }
        return Next();
    }

    private bool SkipOp(string op)
    {
        if (!Cur.IsOp(op)) return false;
        _i++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Cur.IsName(name)) return false;
        _i++;
        return true;
    }

    // Parses statements until a block tag whose name is in `ends`; returns that name (token after it is current).
    private (List<Stmt> Body, string? End) ParseBody(HashSet<string> ends)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Cur;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    if (ends.Count > 0)
                        throw Error($"unexpected end of template, expected one of: {string.Join(", ", ends.Select(e => "'" + e + "'"))}", t);
                    return (body, null);
                case TokenKind.Data:
                    Next();
                    body.Add(At(new TextStmt(t.Text), t));
                    break;
                case TokenKind.VarBegin:
                    Next();
                    var e = ParseTuple(withCondExpr: true);
                    Expect(TokenKind.VarEnd);
                    body.Add(At(new OutputStmt(e), t));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    var name = Cur;
                    if (name.Kind != TokenKind.Name) throw Error($"expected statement name, got {name.Describe()}", name);
                    if (ends.Contains(name.Text))
                    {
                        Next();
                        return (body, name.Text);
                    }
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {t.Describe()}", t);
            }
        }
    }

    private List<Stmt> BodyUntil(string end)
    {
        var (b, _) = ParseBody([end]);
        SkipEndName();
        Expect(TokenKind.BlockEnd);
        return b;
    }

    private void SkipEndName()
    {
        if (Cur.Kind == TokenKind.Name) Next();
    }

    private Stmt ParseStatement()
    {
        Enter();
        try
        {
            return ParseStatementCore();
        }
        finally
        {
            _nesting--;
        }
    }

    private Stmt ParseStatementCore()
    {
        var t = Next();
        switch (t.Text)
        {
            case "for": return ParseFor(t);
            case "if": return ParseIf(t);
            case "set": return ParseSet(t);
            case "macro": return ParseMacro(t);
            case "call": return ParseCallBlock(t);
            case "filter":
            {
                var filters = ParseFilterChain(requireOne: true);
                Expect(TokenKind.BlockEnd);
                return At(new FilterBlockStmt(filters, BodyUntil("endfilter")), t);
            }
            case "with":
            {
                var assigns = new List<(Expr, Expr)>();
                while (Cur.Kind != TokenKind.BlockEnd)
                {
                    if (assigns.Count > 0) Expect(TokenKind.Op, ",");
                    var target = ParseAssignTarget(allowNamespace: false);
                    Expect(TokenKind.Op, "=");
                    assigns.Add((target, ParseExpression()));
                }
                Expect(TokenKind.BlockEnd);
                return At(new WithStmt(assigns, BodyUntil("endwith")), t);
            }
            case "generation":
                Expect(TokenKind.BlockEnd);
                return At(new ScopeStmt(BodyUntil("endgeneration")), t);
            case "block":
                Expect(TokenKind.Name);
                SkipName("scoped");
                Expect(TokenKind.BlockEnd);
                return At(new ScopeStmt(BodyUntil("endblock")), t);
            case "break":
            case "continue":
                if (_loopDepth == 0) throw Error($"'{t.Text}' outside of a loop", t);
                Expect(TokenKind.BlockEnd);
                return t.Text == "break" ? At(new BreakStmt(), t) : At(new ContinueStmt(), t);
            case "include":
            case "import":
            case "from":
            case "extends":
                throw Error($"'{t.Text}' is not supported in chat templates", t);
            default:
                throw Error($"unknown tag '{t.Text}'", t);
        }
    }

    private Stmt ParseFor(Token t)
    {
        var target = ParseAssignTarget(allowNamespace: false, extraEnd: "in");
        Expect(TokenKind.Name, "in");
        var iter = ParseTuple(withCondExpr: false, extraEnd: "recursive");
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        bool recursive = SkipName("recursive");
        Expect(TokenKind.BlockEnd);
        _loopDepth++;
        var (body, end) = ParseBody(["endfor", "else"]);
        _loopDepth--;
        List<Stmt>? elseBody = null;
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            (elseBody, _) = ParseBody(["endfor"]);
        }
        Expect(TokenKind.BlockEnd);
        return At(new ForStmt(target, iter, filter, body, elseBody, recursive), t);
    }

    private Stmt ParseIf(Token t)
    {
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt>? elseBody = null;
        var test = ParseTuple(withCondExpr: false);
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            var (body, end) = ParseBody(["elif", "else", "endif"]);
            branches.Add((test, body));
            if (end == "elif")
            {
                test = ParseTuple(withCondExpr: false);
                continue;
            }
            if (end == "else")
            {
                Expect(TokenKind.BlockEnd);
                (elseBody, _) = ParseBody(["endif"]);
            }
            Expect(TokenKind.BlockEnd);
            return At(new IfStmt(branches, elseBody), t);
        }
    }

    private Stmt ParseSet(Token t)
    {
        var target = ParseAssignTarget(allowNamespace: true);
        if (SkipOp("="))
        {
            var value = ParseTuple(withCondExpr: true);
            Expect(TokenKind.BlockEnd);
            return At(new SetStmt(target, value), t);
        }
        var filters = ParseFilterChain(requireOne: false);
        Expect(TokenKind.BlockEnd);
        return At(new SetBlockStmt(target, filters, BodyUntil("endset")), t);
    }

    private List<MacroParam> ParseParams()
    {
        var ps = new List<MacroParam>();
        Expect(TokenKind.Op, "(");
        while (!SkipOp(")"))
        {
            if (ps.Count > 0) Expect(TokenKind.Op, ",");
            if (SkipOp(")")) break;
            var name = Expect(TokenKind.Name).Text;
            Expr? def = SkipOp("=") ? ParseExpression() : null;
            ps.Add(new MacroParam(name, def));
        }
        return ps;
    }

    private Stmt ParseMacro(Token t)
    {
        var name = Expect(TokenKind.Name).Text;
        var ps = ParseParams();
        Expect(TokenKind.BlockEnd);
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = BodyUntil("endmacro");
        _loopDepth = saved;
        return At(new MacroStmt(name, ps, body), t);
    }

    private Stmt ParseCallBlock(Token t)
    {
        var ps = Cur.IsOp("(") ? ParseParams() : [];
        var call = ParseExpression() as CallExpr ?? throw Error("expected a macro call", t);
        Expect(TokenKind.BlockEnd);
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = BodyUntil("endcall");
        _loopDepth = saved;
        return At(new CallBlockStmt(call, ps, body), t);
    }

    private List<FilterExpr> ParseFilterChain(bool requireOne)
    {
        var list = new List<FilterExpr>();
        if (requireOne || Cur.IsOp("|"))
        {
            if (!requireOne) Next();
            list.Add(ParseFilter(null));
            while (SkipOp("|")) list.Add(ParseFilter(null));
        }
        return list;
    }

    private Expr ParseAssignTarget(bool allowNamespace, string? extraEnd = null)
    {
        var t = Cur;
        var items = new List<Expr>();
        bool paren = SkipOp("(");
        bool sawComma = false;
        while (true)
        {
            var nt = Expect(TokenKind.Name);
            Expr target = At(new NameExpr(nt.Text), nt);
            if (allowNamespace && SkipOp("."))
                target = At(new AttrExpr(target, Expect(TokenKind.Name).Text), nt);
            items.Add(target);
            if (!SkipOp(",")) break;
            sawComma = true;
            if (Cur.Kind != TokenKind.Name || (extraEnd != null && Cur.IsName(extraEnd))) break;
        }
        if (paren) Expect(TokenKind.Op, ")");
        return items.Count == 1 && !sawComma ? items[0] : At(new TupleExpr(items), t);
    }

    // ---- expressions ----

    private bool IsTupleEnd(string? extraEnd) =>
        Cur.Kind is TokenKind.VarEnd or TokenKind.BlockEnd or TokenKind.Eof
        || Cur.IsOp(")") || Cur.IsOp("]") || Cur.IsOp("}") || Cur.IsOp("=")
        || (extraEnd != null && Cur.IsName(extraEnd));

    private Expr ParseTuple(bool withCondExpr, string? extraEnd = null, bool explicitParens = false)
    {
        var t = Cur;
        var items = new List<Expr>();
        bool sawComma = false;
        while (true)
        {
            if (items.Count > 0)
            {
                if (!SkipOp(",")) break;
                sawComma = true;
            }
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondExpr ? ParseExpression() : ParseOr());
        }
        if (!sawComma)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParens) throw Error($"expected an expression, got {Cur.Describe()}", Cur);
        }
        return At(new TupleExpr(items), t);
    }

    private Expr ParseExpression()
    {
        Enter();
        try
        {
            return ParseCondExpr();
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr ParseCondExpr()
    {
        var t = Cur;
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            Expr? other = SkipName("else") ? ParseExpression() : null;
            expr = At(new CondExpr(test, expr, other), t);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var t = Cur;
        var left = ParseAnd();
        int depth = _nesting;
        while (SkipName("or")) { Enter(); left = At(new BinaryExpr("or", left, ParseAnd()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseAnd()
    {
        var t = Cur;
        var left = ParseNot();
        int depth = _nesting;
        while (SkipName("and")) { Enter(); left = At(new BinaryExpr("and", left, ParseNot()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseNot()
    {
        var starts = new List<Token>();
        while (Cur.IsName("not")) starts.Add(Next());
        if (_nesting + starts.Count > MaxNesting) throw Error("template nesting too deep", Cur);
        var expr = ParseCompare();
        for (int i = starts.Count - 1; i >= 0; i--) expr = At(new UnaryExpr("not", expr), starts[i]);
        return expr;
    }

    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseCompare()
    {
        var t = Cur;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Cur.Kind == TokenKind.Op && CompareOps.Contains(Cur.Text))
            {
                var op = Next().Text;
                rest.Add((op, ParseMath1()));
            }
            else if (SkipName("in")) rest.Add(("in", ParseMath1()));
            else if (Cur.IsName("not") && Peek().IsName("in"))
            {
                _i += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : At(new CompareExpr(first, rest), t);
    }

    private Expr ParseMath1()
    {
        var t = Cur;
        var left = ParseConcat();
        int depth = _nesting;
        while (Cur.IsOp("+") || Cur.IsOp("-"))
        {
            Enter();
            var op = Next().Text;
            left = At(new BinaryExpr(op, left, ParseConcat()), t);
        }
        _nesting = depth;
        return left;
    }

    private Expr ParseConcat()
    {
        var t = Cur;
        var left = ParseMath2();
        int depth = _nesting;
        while (SkipOp("~")) { Enter(); left = At(new BinaryExpr("~", left, ParseMath2()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseMath2()
    {
        var t = Cur;
        var left = ParsePow();
        int depth = _nesting;
        while (Cur.IsOp("*") || Cur.IsOp("/") || Cur.IsOp("//") || Cur.IsOp("%"))
        {
            Enter();
            var op = Next().Text;
            left = At(new BinaryExpr(op, left, ParsePow()), t);
        }
        _nesting = depth;
        return left;
    }

    private Expr ParsePow()
    {
        var t = Cur;
        var left = ParseUnary(true);
        int depth = _nesting;
        while (SkipOp("**")) { Enter(); left = At(new BinaryExpr("**", left, ParseUnary(true)), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        try
        {
            return ParseUnaryCore(withFilter);
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr ParseUnaryCore(bool withFilter)
    {
        var t = Cur;
        Expr node;
        if (SkipOp("-")) node = At(new UnaryExpr("-", ParseUnary(false)), t);
        else if (SkipOp("+")) node = At(new UnaryExpr("+", ParseUnary(false)), t);
        else node = ParsePrimary();
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Name:
                return t.Text switch
                {
                    "true" or "True" => At(new ConstExpr(true), t),
                    "false" or "False" => At(new ConstExpr(false), t),
                    "none" or "None" => At(new ConstExpr(null), t),
                    _ => At(new NameExpr(t.Text), t),
                };
            case TokenKind.String:
            {
                var s = (string)t.Value!;
                while (Cur.Kind == TokenKind.String) s += (string)Next().Value!;
                return At(new ConstExpr(s), t);
            }
            case TokenKind.Integer:
            case TokenKind.Float:
                return At(new ConstExpr(t.Value), t);
            case TokenKind.Op when t.Text == "(":
            {
                var e = ParseTuple(withCondExpr: true, explicitParens: true);
                Expect(TokenKind.Op, ")");
                return e;
            }
            case TokenKind.Op when t.Text == "[":
            {
                var items = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",");
                    if (SkipOp("]")) break;
                    items.Add(ParseExpression());
                }
                return At(new ListExpr(items), t);
            }
            case TokenKind.Op when t.Text == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!SkipOp("}"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",");
                    if (SkipOp("}")) break;
                    var k = ParseExpression();
                    Expect(TokenKind.Op, ":");
                    items.Add((k, ParseExpression()));
                }
                return At(new DictExpr(items), t);
            }
            default:
                throw Error($"unexpected {t.Describe()}", t);
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        int depth = _nesting;
        try
        {
            return ParsePostfixChain(node);
        }
        finally
        {
            _nesting = depth;
        }
    }

    private Expr ParsePostfixChain(Expr node)
    {
        while (true)
        {
            Enter();
            var t = Cur;
            if (SkipOp("."))
            {
                var n = Next();
                if (n.Kind == TokenKind.Name) node = At(new AttrExpr(node, n.Text), n);
                else if (n.Kind == TokenKind.Integer) node = At(new ItemExpr(node, At(new ConstExpr(n.Value), n)), n);
                else throw Error($"expected attribute name, got {n.Describe()}", n);
            }
            else if (SkipOp("["))
            {
                var idx = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (idx.Count > 0) Expect(TokenKind.Op, ",");
                    idx.Add(ParseSubscript());
                }
                if (idx.Count == 0) throw Error("expected subscript expression", t);
                node = At(new ItemExpr(node, idx.Count == 1 ? idx[0] : At(new TupleExpr(idx), t)), t);
            }
            else if (Cur.IsOp("("))
            {
                node = At(new CallExpr(node, ParseCallArgs()), t);
            }
            else return node;
        }
    }

    private Expr ParseSubscript()
    {
        var t = Cur;
        Expr? start = null, stop = null, step = null;
        if (!Cur.IsOp(":"))
        {
            start = ParseExpression();
            if (!Cur.IsOp(":")) return start;
        }
        Next();
        if (!Cur.IsOp("]") && !Cur.IsOp(",") && !Cur.IsOp(":")) stop = ParseExpression();
        if (SkipOp(":") && !Cur.IsOp("]") && !Cur.IsOp(",")) step = ParseExpression();
        return At(new SliceExpr(start, stop, step), t);
    }

    private CallArgs ParseCallArgs()
    {
        Expect(TokenKind.Op, "(");
        var pos = new List<Expr>();
        var named = new List<(string, Expr)>();
        Expr? star = null, kw = null;
        bool first = true;
        while (!SkipOp(")"))
        {
            if (!first)
            {
                Expect(TokenKind.Op, ",");
                if (SkipOp(")")) break;
            }
            first = false;
            if (SkipOp("*")) star = ParseExpression();
            else if (SkipOp("**")) kw = ParseExpression();
            else if (Cur.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                var name = Next().Text;
                Next();
                named.Add((name, ParseExpression()));
            }
            else pos.Add(ParseExpression());
        }
        return new CallArgs(pos, named, star, kw);
    }

    private static readonly CallArgs NoArgs = new([], [], null, null);

    private FilterExpr ParseFilter(Expr? target)
    {
        var nt = Expect(TokenKind.Name);
        var name = nt.Text;
        while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
        if (!Filters.Exists(name)) throw Error($"No filter named '{name}'.", nt);
        var args = Cur.IsOp("(") ? ParseCallArgs() : NoArgs;
        return At(new FilterExpr(target, name, args), nt);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        int depth = _nesting;
        try
        {
            return ParseFilterTail(node);
        }
        finally
        {
            _nesting = depth;
        }
    }

    private Expr ParseFilterTail(Expr node)
    {
        while (true)
        {
            Enter();
            if (SkipOp("|")) node = ParseFilter(node);
            else if (Cur.IsName("is"))
            {
                var t = Next();
                bool neg = SkipName("not");
                var nt = Expect(TokenKind.Name);
                var name = nt.Text;
                while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
                if (!Tests.Exists(name)) throw Error($"No test named '{name}'.", nt);
                CallArgs args = NoArgs;
                if (Cur.IsOp("(")) args = ParseCallArgs();
                else if ((Cur.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                          || Cur.IsOp("[") || Cur.IsOp("{"))
                         && !Cur.IsName("else") && !Cur.IsName("or") && !Cur.IsName("and") && !Cur.IsName("if")
                         && !Cur.IsName("is") && !Cur.IsName("in") && !Cur.IsName("not") && !Cur.IsName("recursive"))
                {
                    var arg = ParsePostfix(ParsePrimary());
                    args = new CallArgs([arg], [], null, null);
                }
                node = At(new TestExpr(node, name, args, neg), t);
            }
            else return node;
        }
    }
}
