//! Lexer and recursive-descent parser for the query language, producing an AST whose term
//! leaves are already normalized (so the compiler only interns them).
//!
//! Grammar, loosest first (so NEAR binds tighter than NOT, NOT tighter than AND, AND tighter
//! than OR; juxtaposition is AND):
//!
//! ```text
//! query   := or EOF
//! or      := and ( "OR" and )*
//! and     := unary ( "AND"? unary )*
//! unary   := ( "NOT" | "-" ) unary | near
//! near    := primary ( ( "NEAR/" n | "ONEAR/" n ) primary )?
//! primary := field ":" primary | "(" or ")" | "="? term | "/" regex "/" | "@" group
//! term    := word | word"*" | '"' phrase '"' "*"?
//! ```
//!
//! Keywords are uppercase only, so `and`/`or`/`not`/`near` in lowercase are ordinary words.

use crate::text::normalize::{cased_tokens, normalize};

/// An item field a term can be scoped to (`title:word`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Title,
    Summary,
    Content,
    Link,
    Category,
    Author,
    Feed,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Link,
        Field::Category,
        Field::Author,
        Field::Feed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Link => "link",
            Field::Category => "category",
            Field::Author => "author",
            Field::Feed => "feed",
        }
    }

    pub(crate) fn bit(self) -> FieldMask {
        1 << (self as u8)
    }

    fn parse(name: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// A set of [`Field`]s, one bit each.
pub(crate) type FieldMask = u8;

/// Where an unscoped term is looked for: the text of the story. The link and the feed's name
/// are searched only when asked for (`link:`, `feed:`), since `bbc` in a rule means the word,
/// not every item of a feed whose URL contains it.
pub(crate) const DEFAULT_FIELDS: FieldMask = (1 << Field::Title as u8)
    | (1 << Field::Summary as u8)
    | (1 << Field::Content as u8)
    | (1 << Field::Category as u8)
    | (1 << Field::Author as u8);

/// A search term after normalization: consecutive tokens, the last one optionally a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// Normalized tokens; never empty.
    pub tokens: Vec<String>,
    pub prefix: bool,
    /// The term as the user wrote it, for reporting which terms matched.
    pub label: String,
    /// For an exact-case term (`=US`): the tokens with their case kept, one per entry of
    /// `tokens`; the item's words must have exactly this case.
    pub cased: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Term(Term),
    /// `/pattern/`; `offset` is that of the opening `/`.
    Regex {
        pattern: String,
        offset: usize,
    },
    /// `offset` is the byte offset of the `@` in the query.
    Group {
        name: String,
        offset: usize,
    },
    /// `field:inner`; `offset` is that of the field name.
    Field {
        field: Field,
        inner: Box<Node>,
        offset: usize,
    },
    /// `left NEAR/slop right` (`ordered`: ONEAR). `offset` is that of the operator.
    Near {
        left: Box<Node>,
        right: Box<Node>,
        slop: u32,
        ordered: bool,
        offset: usize,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A group member: members are single terms or phrases, or references to other groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Member {
    Term(Term),
    Group(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub expected: String,
}

impl SyntaxError {
    fn new(offset: usize, expected: impl Into<String>) -> Self {
        SyntaxError {
            offset,
            expected: expected.into(),
        }
    }
}

/// Beyond this, deeply nested input would only serve to overflow the stack.
const MAX_DEPTH: usize = 64;

/// NEAR distances beyond this are a typo or a misunderstanding (use AND).
pub(crate) const MAX_SLOP: u32 = 1000;

const FIELD_LIST: &str = "title, summary, content, link, category, author, feed";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'q> {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    /// `=` directly before a word or phrase: exact case.
    Exact,
    Near {
        slop: u32,
        ordered: bool,
    },
    Field(Field),
    Word(&'q str),
    Phrase {
        inner: &'q str,
        prefix: bool,
    },
    Regex(&'q str),
    Group(&'q str),
    Eof,
}

#[derive(Debug, Clone, Copy)]
struct Lexed<'q> {
    tok: Tok<'q>,
    offset: usize,
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// 1-based char column of a byte offset, for messages that refer to another position.
fn column(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |s| s.chars().count()) + 1
}

/// `title:` and friends at the start of `rest`: the field and the length up to and including
/// the colon. Any run of ASCII letters before a colon counts as an attempted field name, so a
/// misspelt `titel:` is an error rather than the phrase "titel …".
fn field_prefix(rest: &str) -> Option<(Result<Field, &str>, usize)> {
    let letters = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters < 2 || rest.as_bytes().get(letters) != Some(&b':') {
        return None;
    }
    let name = &rest[..letters];
    Some((Field::parse(name).ok_or(name), letters + 1))
}

fn lex(query: &str) -> Result<Vec<Lexed<'_>>, SyntaxError> {
    let mut out = Vec::new();
    let mut rest = query.char_indices().peekable();
    while let Some(&(i, c)) = rest.peek() {
        if c.is_whitespace() {
            rest.next();
            continue;
        }
        let next_char = query[i + c.len_utf8()..].chars().next();
        let tok = match c {
            '(' => {
                rest.next();
                Tok::LParen
            }
            ')' => {
                rest.next();
                Tok::RParen
            }
            '"' => {
                let start = i + 1;
                let Some(len) = query[start..].find('"') else {
                    // The caret goes at the end, where the quote is missing; the message says
                    // which quote is open since the end may be far from it.
                    return Err(SyntaxError::new(
                        query.len(),
                        format!(
                            "a closing `\"` for the phrase opened in column {}",
                            column(query, i)
                        ),
                    ));
                };
                let end = start + len;
                // Skip past the closing quote (and a prefix star right after it).
                while rest.peek().is_some_and(|&(j, _)| j <= end) {
                    rest.next();
                }
                let prefix = rest.peek().is_some_and(|&(_, c)| c == '*');
                if prefix {
                    rest.next();
                }
                Tok::Phrase {
                    inner: &query[start..end],
                    prefix,
                }
            }
            '/' => {
                let start = i + 1;
                // `\/` is a slash inside the pattern; any other escape is the regex's own.
                let mut end = None;
                let mut escaped = false;
                for (j, ch) in query[start..].char_indices() {
                    match ch {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '/' => {
                            end = Some(start + j);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return Err(SyntaxError::new(
                        query.len(),
                        format!(
                            "a closing `/` for the regex opened in column {}",
                            column(query, i)
                        ),
                    ));
                };
                while rest.peek().is_some_and(|&(j, _)| j <= end) {
                    rest.next();
                }
                if let Some(&(j, c)) = rest.peek()
                    && !is_delimiter(c)
                {
                    return Err(SyntaxError::new(
                        j,
                        "a space or `)` after the closing `/` of the regex (flags are written \
                         inside it, e.g. /(?i)f-?16/)",
                    ));
                }
                Tok::Regex(&query[start..end])
            }
            '-' if next_char.is_some_and(|n| !n.is_whitespace() && n != ')') => {
                rest.next();
                Tok::Minus
            }
            '=' if next_char.is_some_and(|n| !n.is_whitespace() && n != ')') => {
                rest.next();
                Tok::Exact
            }
            _ if c != '@' && field_prefix(&query[i..]).is_some() => {
                let Some((field, len)) = field_prefix(&query[i..]) else {
                    unreachable!("checked by the guard")
                };
                let field = field.map_err(|name| {
                    SyntaxError::new(
                        i,
                        format!(
                            "a field name before `:` (`{name}` is not one; fields are \
                             {FIELD_LIST}); to search for the text, quote it"
                        ),
                    )
                })?;
                while rest.peek().is_some_and(|&(j, _)| j < i + len) {
                    rest.next();
                }
                Tok::Field(field)
            }
            _ => {
                let at_group = c == '@';
                if at_group {
                    rest.next();
                }
                let start = if at_group { i + 1 } else { i };
                let mut end = start;
                while let Some(&(j, c)) = rest.peek() {
                    if is_delimiter(c) {
                        break;
                    }
                    end = j + c.len_utf8();
                    rest.next();
                }
                let text = &query[start..end];
                if at_group {
                    if text.is_empty() {
                        return Err(SyntaxError::new(start, "a group name after `@`"));
                    }
                    Tok::Group(text)
                } else {
                    match text {
                        "AND" => Tok::And,
                        "OR" => Tok::Or,
                        "NOT" => Tok::Not,
                        _ => near_operator(text, i)?.unwrap_or(Tok::Word(text)),
                    }
                }
            }
        };
        out.push(Lexed { tok, offset: i });
    }
    out.push(Lexed {
        tok: Tok::Eof,
        offset: query.len(),
    });
    Ok(out)
}

/// `NEAR/5`, `ONEAR/2`; `None` for any other word.
fn near_operator(text: &str, offset: usize) -> Result<Option<Tok<'static>>, SyntaxError> {
    let (keyword, rest, ordered) = if let Some(rest) = text.strip_prefix("ONEAR") {
        ("ONEAR", rest, true)
    } else if let Some(rest) = text.strip_prefix("NEAR") {
        ("NEAR", rest, false)
    } else {
        return Ok(None);
    };
    let digits = match rest.strip_prefix('/') {
        Some(digits) => digits,
        None if rest.is_empty() => {
            return Err(SyntaxError::new(
                offset + text.len(),
                format!("a distance after {keyword}, e.g. {keyword}/5 (within 5 words)"),
            ));
        }
        // `NEARBY` and the like are ordinary words.
        None => return Ok(None),
    };
    match digits.parse::<u32>() {
        Ok(slop) if slop <= MAX_SLOP && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(Tok::Near { slop, ordered }))
        }
        _ => Err(SyntaxError::new(
            offset + keyword.len() + 1,
            format!("a number of words from 0 to {MAX_SLOP} after {keyword}/"),
        )),
    }
}

/// Turns a bare word (which may normalize to several tokens, e.g. `Kazakh-Israeli`) into a term.
fn word_term(raw: &str, offset: usize, exact: bool) -> Result<Term, SyntaxError> {
    let (stem, prefix) = match raw.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (raw, false),
    };
    if let Some(star) = stem.find('*') {
        let expected = if star == 0 {
            "a word before `*` (leading wildcards are not supported)"
        } else {
            "the end of the word after `*` (a wildcard is only allowed at the end of a word)"
        };
        return Err(SyntaxError::new(offset + star, expected));
    }
    let tokens = tokens_of(stem);
    if tokens.is_empty() {
        let expected = if prefix && stem.is_empty() {
            "a word before `*` (leading wildcards are not supported)"
        } else {
            "a word (letters or digits)"
        };
        return Err(SyntaxError::new(offset, expected));
    }
    let cased = exact.then(|| cased_tokens(stem));
    Ok(Term {
        tokens,
        prefix,
        label: if exact {
            format!("={raw}")
        } else {
            raw.to_owned()
        },
        cased,
    })
}

/// `offset` is that of the opening quote.
fn phrase_term(
    inner: &str,
    prefix_after: bool,
    offset: usize,
    exact: bool,
) -> Result<Term, SyntaxError> {
    let trimmed = inner.trim();
    // `"central asia*"` reads naturally as a prefix on the last word too.
    let (text, prefix_inside) = match trimmed.strip_suffix('*') {
        Some(t) => (t, true),
        None => (trimmed, false),
    };
    let tokens = tokens_of(text);
    if tokens.is_empty() {
        return Err(SyntaxError::new(offset + 1, "a word inside the quotes"));
    }
    let mut label = if exact {
        format!("={trimmed}")
    } else {
        trimmed.to_owned()
    };
    if prefix_after {
        label.push('*');
    }
    Ok(Term {
        tokens,
        prefix: prefix_inside || prefix_after,
        label,
        cased: exact.then(|| cased_tokens(text)),
    })
}

/// A built-in place form (`Kazakhstan`, `=U S`, `kazakh*`, `Papua — New Guinea`) as a term:
/// like a quoted phrase, so punctuation inside a name separates words as it does in item text.
/// `None` if it has no word at all.
pub(crate) fn form_term(form: &str) -> Option<Term> {
    let (exact, rest) = match form.strip_prefix('=') {
        Some(rest) => (true, rest),
        None => (false, form),
    };
    phrase_term(rest, false, 0, exact).ok()
}

fn tokens_of(text: &str) -> Vec<String> {
    normalize(text)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a whole query. An all-whitespace query is reported by the caller as empty.
pub(crate) fn parse_query(query: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        query,
        toks: lex(query)?,
        pos: 0,
        depth: 0,
    };
    let node = p.or("")?;
    let end = p.peek();
    match end.tok {
        Tok::Eof => Ok(node),
        Tok::Near { .. } => Err(SyntaxError::new(
            end.offset,
            "AND, OR or the end of the query (NEAR cannot be chained; write \
             (a NEAR/3 b) AND (b NEAR/3 c))",
        )),
        // `and` stops only before OR/`)`/NEAR/EOF, and `or` consumes every OR.
        _ => Err(SyntaxError::new(
            end.offset,
            "the end of the query (this `)` has no matching `(`)",
        )),
    }
}

/// Parses one group member: a single word, prefix, quoted phrase (either optionally `=` for
/// exact case) or `@group`; unquoted multi-word text (`Central Asia`) is taken as a phrase.
pub(crate) fn parse_member(member: &str) -> Result<Member, SyntaxError> {
    let toks = lex(member)?;
    const NOT_ALLOWED: &str = "a single term or phrase (operators, parentheses, field scopes, \
         regexes and `-` are not allowed in group members)";
    let (exact, toks) = match toks.split_first() {
        Some((
            Lexed {
                tok: Tok::Exact, ..
            },
            rest,
        )) => (true, rest),
        _ => (false, toks.as_slice()),
    };
    match toks {
        [eof] => Err(SyntaxError::new(eof.offset, "a term or phrase")),
        [
            Lexed {
                tok: Tok::Group(name),
                ..
            },
            _,
        ] if !exact => Ok(Member::Group((*name).to_owned())),
        [
            Lexed {
                tok: Tok::Phrase { inner, prefix },
                offset,
            },
            _,
        ] => Ok(Member::Term(phrase_term(inner, *prefix, *offset, exact)?)),
        [words @ .., _] => {
            // Reject operators first: for `Uzbek* OR Tajik*` that is the real mistake, not the `*`.
            if let Some(bad) = words.iter().find(|l| !matches!(l.tok, Tok::Word(_))) {
                return Err(SyntaxError::new(bad.offset, NOT_ALLOWED));
            }
            let mut tokens = Vec::new();
            let mut cased = Vec::new();
            let mut prefix = false;
            for (i, lexed) in words.iter().enumerate() {
                let Tok::Word(raw) = lexed.tok else {
                    continue;
                };
                let term = word_term(raw, lexed.offset, exact)?;
                if term.prefix && i + 1 < words.len() {
                    return Err(SyntaxError::new(
                        lexed.offset + raw.len() - 1,
                        "the end of the member after `*` (a wildcard is only allowed on the last word)",
                    ));
                }
                prefix = term.prefix;
                tokens.extend(term.tokens);
                cased.extend(term.cased.unwrap_or_default());
            }
            Ok(Member::Term(Term {
                tokens,
                prefix,
                label: member.trim().to_owned(),
                cased: exact.then_some(cased),
            }))
        }
        [] => Err(SyntaxError::new(0, "a term or phrase")),
    }
}

struct Parser<'q> {
    query: &'q str,
    toks: Vec<Lexed<'q>>,
    pos: usize,
    depth: usize,
}

const EXPECTED_OPERAND: &str = "a term, phrase, @group or `(`";

impl<'q> Parser<'q> {
    fn peek(&self) -> Lexed<'q> {
        // The lexer always ends the stream with Eof and we never advance past it.
        self.toks.get(self.pos).copied().unwrap_or(Lexed {
            tok: Tok::Eof,
            offset: 0,
        })
    }

    fn bump(&mut self) -> Lexed<'q> {
        let t = self.peek();
        if !matches!(t.tok, Tok::Eof) {
            self.pos += 1;
        }
        t
    }

    /// `after` describes what precedes, for the "expected a term …" message.
    fn or(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let mut parts = vec![self.and(after)?];
        while matches!(self.peek().tok, Tok::Or) {
            self.bump();
            parts.push(self.and(" after OR")?);
        }
        Ok(flatten(parts, true))
    }

    fn and(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let mut parts = vec![self.unary(after)?];
        loop {
            match self.peek().tok {
                Tok::And => {
                    self.bump();
                    parts.push(self.unary(" after AND")?);
                }
                Tok::Not
                | Tok::Minus
                | Tok::Exact
                | Tok::Field(_)
                | Tok::LParen
                | Tok::Word(_)
                | Tok::Phrase { .. }
                | Tok::Regex(_)
                | Tok::Group(_) => parts.push(self.unary("")?),
                Tok::Or | Tok::RParen | Tok::Near { .. } | Tok::Eof => break,
            }
        }
        Ok(flatten(parts, false))
    }

    fn unary(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let next = self.peek();
        match next.tok {
            Tok::Not | Tok::Minus => {
                self.bump();
                let after = if matches!(next.tok, Tok::Not) {
                    " after NOT"
                } else {
                    " after `-`"
                };
                self.descend(next.offset)?;
                let inner = self.unary(after)?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            _ => self.near(after),
        }
    }

    fn near(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let left_start = self.peek().offset;
        let left = self.primary(after)?;
        let op = self.peek();
        let Tok::Near { slop, ordered } = op.tok else {
            return Ok(left);
        };
        self.bump();
        let keyword = if ordered { "ONEAR" } else { "NEAR" };
        check_near_operand(&left, keyword, left_start)?;
        let right_start = self.peek().offset;
        let right = self.primary(&format!(" after {keyword}/{slop}"))?;
        check_near_operand(&right, keyword, right_start)?;
        Ok(Node::Near {
            left: Box::new(left),
            right: Box::new(right),
            slop,
            ordered,
            offset: op.offset,
        })
    }

    fn primary(&mut self, after: &str) -> Result<Node, SyntaxError> {
        let next = self.bump();
        match next.tok {
            Tok::Field(field) => {
                self.descend(next.offset)?;
                let after = format!(" after `{}:`", field.name());
                let inner = self.primary(&after)?;
                self.depth -= 1;
                Ok(Node::Field {
                    field,
                    inner: Box::new(inner),
                    offset: next.offset,
                })
            }
            Tok::LParen => {
                self.descend(next.offset)?;
                let inner = self.or(" after `(`")?;
                self.depth -= 1;
                let close = self.peek();
                match close.tok {
                    Tok::RParen => {}
                    Tok::Near { .. } => {
                        return Err(SyntaxError::new(
                            close.offset,
                            "AND, OR or `)` (NEAR cannot be chained; write \
                             (a NEAR/3 b) AND (b NEAR/3 c))",
                        ));
                    }
                    _ => {
                        return Err(SyntaxError::new(
                            close.offset,
                            format!(
                                "a `)` matching the `(` in column {}",
                                column(self.query, next.offset)
                            ),
                        ));
                    }
                }
                self.bump();
                Ok(inner)
            }
            Tok::Exact => {
                let term = self.bump();
                match term.tok {
                    Tok::Word(raw) => Ok(Node::Term(word_term(raw, term.offset, true)?)),
                    Tok::Phrase { inner, prefix } => {
                        Ok(Node::Term(phrase_term(inner, prefix, term.offset, true)?))
                    }
                    _ => Err(SyntaxError::new(
                        term.offset,
                        "a word or a quoted phrase after `=` (exact case, e.g. =US or \
                         =\"New START\")",
                    )),
                }
            }
            Tok::Word(raw) => Ok(Node::Term(word_term(raw, next.offset, false)?)),
            Tok::Phrase { inner, prefix } => {
                Ok(Node::Term(phrase_term(inner, prefix, next.offset, false)?))
            }
            Tok::Regex(pattern) => Ok(Node::Regex {
                // `\/` only protects the slash from the lexer.
                pattern: pattern.replace("\\/", "/"),
                offset: next.offset,
            }),
            Tok::Group(name) => Ok(Node::Group {
                name: name.to_owned(),
                offset: next.offset,
            }),
            Tok::Near { ordered, .. } => Err(SyntaxError::new(
                next.offset,
                format!(
                    "{EXPECTED_OPERAND} before {}",
                    if ordered { "ONEAR" } else { "NEAR" }
                ),
            )),
            Tok::Not | Tok::Minus => Err(SyntaxError::new(
                next.offset,
                format!(
                    "{EXPECTED_OPERAND}{after} (to negate here, put the NOT before the \
                     whole NEAR or field scope)"
                ),
            )),
            Tok::And | Tok::Or | Tok::RParen | Tok::Eof => Err(SyntaxError::new(
                next.offset,
                format!("{EXPECTED_OPERAND}{after}"),
            )),
        }
    }

    fn descend(&mut self, offset: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError::new(
                offset,
                format!("less nesting (at most {MAX_DEPTH} levels of parentheses and NOT)"),
            ));
        }
        Ok(())
    }
}

/// NEAR compares word positions, so its operands must be things with positions: terms,
/// phrases, groups, field scopes of those, or an OR of those.
/// `start` is where the operand begins in the query.
fn check_near_operand(node: &Node, keyword: &str, start: usize) -> Result<(), SyntaxError> {
    match node {
        Node::Term(_) | Node::Group { .. } => Ok(()),
        Node::Field { inner, .. } => check_near_operand(inner, keyword, start),
        Node::Or(parts) => parts
            .iter()
            .try_for_each(|p| check_near_operand(p, keyword, start)),
        Node::Regex { offset, .. } => Err(SyntaxError::new(
            *offset,
            format!(
                "a term, phrase or @group next to {keyword} (a regex has no word positions; \
                 combine it with AND instead)"
            ),
        )),
        Node::And(_) | Node::Not(_) | Node::Near { .. } => Err(SyntaxError::new(
            start,
            format!(
                "a term, phrase, @group or OR of those next to {keyword} (AND, NOT and NEAR \
                 cannot be inside NEAR)"
            ),
        )),
    }
}

/// Builds an n-ary AND/OR, merging nested ones of the same kind so evaluation stays shallow.
fn flatten(parts: Vec<Node>, is_or: bool) -> Node {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or(Node::Or(Vec::new()));
    }
    let mut flat = Vec::with_capacity(parts.len());
    for part in parts {
        match (part, is_or) {
            (Node::Or(inner), true) | (Node::And(inner), false) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    if is_or {
        Node::Or(flat)
    } else {
        Node::And(flat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tokens: &[&str], prefix: bool, label: &str) -> Node {
        Node::Term(Term {
            tokens: tokens.iter().map(|s| s.to_string()).collect(),
            prefix,
            label: label.to_owned(),
            cased: None,
        })
    }

    fn w(word: &str) -> Node {
        t(&[&word.to_lowercase()], false, word)
    }

    fn err(q: &str) -> SyntaxError {
        match parse_query(q) {
            Err(e) => e,
            Ok(n) => panic!("{q:?} parsed as {n:?}"),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            parse_query("a OR b AND c").unwrap(),
            Node::Or(vec![w("a"), Node::And(vec![w("b"), w("c")])])
        );
        assert_eq!(
            parse_query("a b OR NOT c d").unwrap(),
            Node::Or(vec![
                Node::And(vec![w("a"), w("b")]),
                Node::And(vec![Node::Not(Box::new(w("c"))), w("d")]),
            ])
        );
        assert_eq!(
            parse_query("(a OR b) c").unwrap(),
            Node::And(vec![Node::Or(vec![w("a"), w("b")]), w("c")])
        );
    }

    #[test]
    fn nested_same_operators_are_flattened() {
        assert_eq!(
            parse_query("a AND (b AND c) AND d").unwrap(),
            Node::And(vec![w("a"), w("b"), w("c"), w("d")])
        );
        assert_eq!(
            parse_query("((a OR b)) OR c").unwrap(),
            Node::Or(vec![w("a"), w("b"), w("c")])
        );
    }

    #[test]
    fn lowercase_keywords_are_words_and_minus_is_not() {
        assert_eq!(
            parse_query("war and peace").unwrap(),
            Node::And(vec![w("war"), w("and"), w("peace")])
        );
        assert_eq!(
            parse_query("a -b").unwrap(),
            Node::And(vec![w("a"), Node::Not(Box::new(w("b")))])
        );
        // A hyphen inside a word is punctuation, not negation.
        assert_eq!(
            parse_query("Kazakh-Israeli").unwrap(),
            t(&["kazakh", "israeli"], false, "Kazakh-Israeli")
        );
    }

    #[test]
    fn terms_phrases_prefixes_groups() {
        assert_eq!(
            parse_query("Kazakh* \"Abraham  Accords\" \"central asia\"* @g").unwrap(),
            Node::And(vec![
                t(&["kazakh"], true, "Kazakh*"),
                t(&["abraham", "accords"], false, "Abraham  Accords"),
                t(&["central", "asia"], true, "central asia*"),
                Node::Group {
                    name: "g".into(),
                    offset: 43
                },
            ])
        );
        assert_eq!(
            parse_query("Kazakhstan's").unwrap(),
            t(&["kazakhstan"], false, "Kazakhstan's")
        );
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let e = err("a AND");
        assert_eq!(
            (e.offset, e.expected.as_str()),
            (5, "a term, phrase, @group or `(` after AND")
        );
        let e = err("a OR OR b");
        assert_eq!(
            (e.offset, e.expected.as_str()),
            (5, "a term, phrase, @group or `(` after OR")
        );
        let e = err("(a OR b");
        assert_eq!(
            (e.offset, e.expected.as_str()),
            (7, "a `)` matching the `(` in column 1")
        );
        let e = err("a) b");
        assert_eq!(e.offset, 1);
        let e = err("x \"abc");
        assert_eq!(
            (e.offset, e.expected.as_str()),
            (6, "a closing `\"` for the phrase opened in column 3")
        );
        assert_eq!(err("ka*zakh").offset, 2);
        assert_eq!(err("*zakh").offset, 0);
        assert_eq!(err("a @ b").offset, 3);
        assert_eq!(err("a \"  \"").offset, 3);
        assert_eq!(err("a & b").expected, "a word (letters or digits)");
        assert_eq!(err("NOT titel:football").offset, 4);
        assert!(
            err("titel:football")
                .expected
                .contains("`titel` is not one")
        );
        assert_eq!(
            err("()").expected,
            "a term, phrase, @group or `(` after `(`"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let q = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(err(&q).expected.starts_with("less nesting"));
        let q = "NOT ".repeat(10_000) + "a";
        assert!(err(&q).expected.starts_with("less nesting"));
        // At the limit the parentheses are only grouping: the query is the term itself.
        let q = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        match parse_query(&q) {
            Ok(Node::Term(term)) => assert_eq!(term.tokens, ["a"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn members() {
        assert_eq!(
            parse_member("Central Asia").unwrap(),
            Member::Term(Term {
                tokens: vec!["central".into(), "asia".into()],
                prefix: false,
                label: "Central Asia".into(),
                cased: None,
            })
        );
        assert_eq!(
            parse_member(" \"Abraham Accords\" ").unwrap(),
            Member::Term(Term {
                tokens: vec!["abraham".into(), "accords".into()],
                prefix: false,
                label: "Abraham Accords".into(),
                cased: None,
            })
        );
        assert_eq!(
            parse_member("@other").unwrap(),
            Member::Group("other".into())
        );
        assert!(matches!(
            parse_member("Kazakh*"),
            Ok(Member::Term(Term { prefix: true, .. }))
        ));
        assert_eq!(parse_member("a OR b").unwrap_err().offset, 2);
        assert_eq!(parse_member("-football").unwrap_err().offset, 0);
        assert_eq!(parse_member("Kaz* stan").unwrap_err().offset, 3);
        assert_eq!(parse_member("  ").unwrap_err().expected, "a term or phrase");
    }
}
