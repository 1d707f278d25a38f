import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInmsg, type InmsgParseResult, type ParsedEntry } from '../src/inmsgParser.js';

// The JSON examples of the seed README ("How to send a Message"), verbatim,
// including the lines that hold only spaces.
const README_SINGLE = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    }
]`;

const README_TWO = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    },
    {
        
        "toNode": "ship2",
        "data": ["bash","-c","ls -l ../"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand"
            
    }
]`;

const README_TIMEOUT = String.raw`[
    {
        
        "toNode": "ship1",
        "data": ["bash","-c","netstat -an|grep -i listen"],
        "commandOrEvent":"CommandACK",
        "method":"CLICommand",
        "timeout":3,
        "retries":3
    }
]`;

const README_EVENT = String.raw`[
    {
        "toNode": "central",
        "data": ["some message sent from a ship for testing\n"],
        "commandOrEvent":"EventACK",
        "method":"TextLogging"
    }
]`;

const NOT_A_CONTAINER = 'expected a JSON array of messages or a message object';

const ship = (toNode: string, data = ['bash', '-c', 'ls -l ../']) => ({
  toNode,
  data,
  commandOrEvent: 'CommandACK',
  method: 'CLICommand',
});

/** What `cat file >> inmsg.txt` leaves behind: each file as saved, with its final newline. */
function appended(...files: string[]): string {
  return files.map((f) => `${f}\n`).join('');
}

/** The entries without their text, for comparing values and positions. */
function positions(result: InmsgParseResult) {
  return result.entries.map(({ valueIndex, entryIndex, line }) => ({
    valueIndex,
    entryIndex,
    line,
  }));
}

/** Every entry's text must parse back to its value: text and value come from the same source. */
function assertTextsMatchValues(entries: ParsedEntry[]): void {
  for (const entry of entries) assert.deepEqual(JSON.parse(entry.text), entry.value, entry.text);
}

describe('parseInmsg: the seed README examples', () => {
  it('keeps the whitespace-only lines of the examples (guard against editors trimming them)', () => {
    assert.match(README_SINGLE, /^ {8}$/m);
    assert.match(README_SINGLE, /^ {12}$/m);
  });

  it('parses the single-message array', () => {
    const result = parseInmsg(README_SINGLE);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(result.entries, [
      {
        value: ship('ship1'),
        valueIndex: 0,
        entryIndex: 0,
        line: 2,
        text: README_SINGLE.slice(README_SINGLE.indexOf('{'), README_SINGLE.lastIndexOf('}') + 1),
      },
    ]);
  });

  it('parses the two-message array with the exact text and line of each element', () => {
    const result = parseInmsg(README_TWO);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => e.value),
      [ship('ship1'), ship('ship2')],
    );
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 0, entryIndex: 1, line: 10 },
    ]);
    const split = README_TWO.indexOf('},') + 1;
    assert.equal(result.entries[0]?.text, README_TWO.slice(README_TWO.indexOf('{'), split));
    assert.equal(result.entries[1]?.text, README_TWO.slice(README_TWO.indexOf('{', split), README_TWO.lastIndexOf('}') + 1));
  });

  it('parses the example with timeout and retries', () => {
    const result = parseInmsg(README_TIMEOUT);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => e.value),
      [{ ...ship('ship1', ['bash', '-c', 'netstat -an|grep -i listen']), timeout: 3, retries: 3 }],
    );
    assertTextsMatchValues(result.entries);
  });

  it('parses the TextLogging event, keeping the escaped newline in the data', () => {
    const result = parseInmsg(README_EVENT);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => e.value),
      [
        {
          toNode: 'central',
          data: ['some message sent from a ship for testing\n'],
          commandOrEvent: 'EventACK',
          method: 'TextLogging',
        },
      ],
    );
    assert.equal(result.entries[0]?.line, 2);
    assert.ok(result.entries[0]?.text.includes(String.raw`testing\n"`));
  });
});

describe('parseInmsg: several values in one file', () => {
  it('gives the entries of two appended arrays with their value index and lines', () => {
    const content = appended(README_SINGLE, README_TWO);
    const result = parseInmsg(content);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 1, entryIndex: 0, line: 12 },
      { valueIndex: 1, entryIndex: 1, line: 20 },
    ]);
    assert.deepEqual(
      result.entries.map((e) => e.value),
      [ship('ship1'), ship('ship1'), ship('ship2')],
    );
    assertTextsMatchValues(result.entries);
  });

  it('gives the entries of all four README examples appended', () => {
    const result = parseInmsg(appended(README_SINGLE, README_TWO, README_TIMEOUT, README_EVENT));
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.entryIndex, (e.value as { toNode: string }).toNode]),
      [
        [0, 0, 'ship1'],
        [1, 0, 'ship1'],
        [1, 1, 'ship2'],
        [2, 0, 'ship1'],
        [3, 0, 'central'],
      ],
    );
  });

  it('splits minified values with nothing between them', () => {
    const content = '[{"toNode":"a"}][{"toNode":"b"},{"toNode":"c"}]{"toNode":"d"}{"toNode":"e"}';
    const result = parseInmsg(content);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map(({ valueIndex, entryIndex, line, text }) => ({
        valueIndex,
        entryIndex,
        line,
        text,
      })),
      [
        { valueIndex: 0, entryIndex: 0, line: 1, text: '{"toNode":"a"}' },
        { valueIndex: 1, entryIndex: 0, line: 1, text: '{"toNode":"b"}' },
        { valueIndex: 1, entryIndex: 1, line: 1, text: '{"toNode":"c"}' },
        { valueIndex: 2, entryIndex: 0, line: 1, text: '{"toNode":"d"}' },
        { valueIndex: 3, entryIndex: 0, line: 1, text: '{"toNode":"e"}' },
      ],
    );
  });

  it('takes a single top-level object as one entry', () => {
    const object = '{\n  "toNode": "ship1",\n  "method": "SayHello",\n  "data": []\n}';
    const result = parseInmsg(`\n\n${object}\n`);
    assert.deepEqual(result, {
      entries: [
        {
          value: { toNode: 'ship1', method: 'SayHello', data: [] },
          valueIndex: 0,
          entryIndex: 0,
          line: 3,
          text: object,
        },
      ],
      failures: [],
    });
  });

  it('takes the messages of an array of messages nested in the array, one by one', () => {
    const result = parseInmsg('[[{"toNode": "a"}, {"toNode": "b"}], {"toNode": "c"}]');
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.entryIndex, e.value, e.text]),
      [
        [0, 0, { toNode: 'a' }, '{"toNode": "a"}'],
        [0, 1, { toNode: 'b' }, '{"toNode": "b"}'],
        [0, 2, { toNode: 'c' }, '{"toNode": "c"}'],
      ],
    );
  });

  it('does not lose a valid line between a stray "[" and a stray "]" on the lines around it', () => {
    // Found by the fuzz test: garbage ending in "[", a blank line, a valid entry, then a line starting with "]".
    const valid = '[{"toNode":"central","method":"TextLogging","data":["fuzz-467\\n"]}]';
    const result = parseInmsg(`x[\n   \n${valid}\n]{"toNode":"ship1"},{"toNode":"c"}]\n`);
    assert.deepEqual(result.entries[0]?.value, { toNode: 'central', method: 'TextLogging', data: ['fuzz-467\n'] });
    assert.equal(result.entries[0]?.line, 3);
  });

  it('returns elements that are not objects as entries, for the validator to refuse', () => {
    const result = parseInmsg('[1, "two", null, [3, {"x": ","}], {"toNode": "a"}]');
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => [e.entryIndex, e.value, e.text]),
      [
        [0, 1, '1'],
        [1, 'two', '"two"'],
        [2, null, 'null'],
        [3, [3, { x: ',' }], '[3, {"x": ","}]'],
        [4, { toNode: 'a' }, '{"toNode": "a"}'],
      ],
    );
  });

  it('finds nothing in empty or whitespace-only content, and nothing in an empty array', () => {
    for (const content of ['', '   \n\r\n\t  \n', '\uFEFF', '\uFEFF\r\n']) {
      assert.deepEqual(parseInmsg(content), { entries: [], failures: [] }, JSON.stringify(content));
    }
    const result = parseInmsg('[]\n[ ]\n[{"toNode":"a"}]\n');
    assert.deepEqual(result.failures, []);
    assert.deepEqual(positions(result), [{ valueIndex: 2, entryIndex: 0, line: 3 }]);
  });
});

describe('parseInmsg: strings', () => {
  it('ignores brackets, braces, commas, escaped quotes and backslashes inside strings', () => {
    const first = String.raw`{"toNode":"a","data":["echo \"[{\"", "}]", "C:\\dir\\", "\\", "a,b", "\"]}", "\u005b"]}`;
    const second = String.raw`{"toNode":"b","data":["]"]}`;
    const third = String.raw`{"toNode":"c","data":["{\"x\": [1,2]}\\"]}`;
    const content = `[${first},\n  ${second}]\n${third}\n[${second}]`;
    const result = parseInmsg(content);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.entryIndex, e.line, e.text]),
      [
        [0, 0, 1, first],
        [0, 1, 2, second],
        [1, 0, 3, third],
        [2, 0, 4, second],
      ],
    );
    assert.deepEqual(result.entries[0]?.value, {
      toNode: 'a',
      data: ['echo "[{"', '}]', 'C:\\dir\\', '\\', 'a,b', '"]}', '['],
    });
    assertTextsMatchValues(result.entries);
  });
});

describe('parseInmsg: broken input does not poison the rest', () => {
  it('reports a malformed array between two valid ones and parses both valid ones', () => {
    const bad = ['[', '    {', '        "toNode": "ship1",,', '        "method": "CLICommand"', '    }', ']'].join('\n');
    let parseMessage = '';
    try {
      JSON.parse(bad);
    } catch (err) {
      parseMessage = (err as Error).message;
    }
    assert.notEqual(parseMessage, '');

    const result = parseInmsg(appended(README_SINGLE, bad, README_EVENT));
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 2, entryIndex: 0, line: 18 },
    ]);
    assert.equal(result.failures.length, 1);
    const failure = result.failures[0];
    assert.equal(failure?.valueIndex, 1);
    assert.equal(failure?.line, 11);
    assert.equal(failure?.text, bad);
    assert.ok(failure?.reason.startsWith(parseMessage), failure?.reason);
    // JSON.parse counts from the start of the value; the reason adds where that is in the file.
    assert.match(failure?.reason ?? '', /\(input line 13, column 27\)$/);
  });

  it('resynchronises at a column-0 bracket after an unclosed array', () => {
    const unclosed = '[\n    {\n        "toNode": "ship1",\n        "method": "CLICommand"\n    }';
    const result = parseInmsg(appended(README_SINGLE, unclosed, README_TWO));
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 2, entryIndex: 0, line: 17 },
      { valueIndex: 2, entryIndex: 1, line: 25 },
    ]);
    assert.deepEqual(
      result.failures.map(({ valueIndex, line, text }) => ({ valueIndex, line, text })),
      [{ valueIndex: 1, line: 11, text: unclosed }],
    );
    assert.match(result.failures[0]?.reason ?? '', /^value not closed before line 16, where a new value starts: /);
  });

  it('ends an unterminated string at the end of its line, so the next value is found', () => {
    // The missing quote after `../` hides the `]` of data, leaving the array open.
    const bad = [
      '[',
      '    {',
      '        "toNode": "ship1",',
      '        "data": ["bash","-c","ls -l ../],',
      '        "method":"CLICommand"',
      '    }',
      ']',
    ].join('\r\n');
    const result = parseInmsg(appended(bad, README_EVENT));
    assert.deepEqual(
      result.failures.map(({ valueIndex, line, text }) => ({ valueIndex, line, text })),
      [{ valueIndex: 0, line: 1, text: bad }],
    );
    assert.deepEqual(positions(result), [{ valueIndex: 1, entryIndex: 0, line: 9 }]);
  });

  it('reports text outside any value up to the next value', () => {
    const content = appended('hello', README_SINGLE, 'not json ] at all', README_EVENT, 'bye');
    const result = parseInmsg(content);
    assert.deepEqual(
      result.failures.map(({ valueIndex, line, text }) => ({ valueIndex, line, text })),
      [
        { valueIndex: 0, line: 1, text: 'hello' },
        { valueIndex: 2, line: 12, text: 'not json ] at all' },
        { valueIndex: 4, line: 21, text: 'bye' },
      ],
    );
    for (const failure of result.failures) {
      assert.ok(failure.reason.startsWith(`${NOT_A_CONTAINER}, found text that is not JSON: `));
    }
    assert.deepEqual(positions(result), [
      { valueIndex: 1, entryIndex: 0, line: 3 },
      { valueIndex: 3, entryIndex: 0, line: 14 },
    ]);
  });

  it('refuses a top-level value that is neither array nor object', () => {
    for (const scalar of ['42', '"x"', '"has [ and {"', 'true', 'null']) {
      const result = parseInmsg(`${scalar}\n[{"toNode":"a"}]\n`);
      assert.deepEqual(result.failures, [{ valueIndex: 0, line: 1, text: scalar, reason: NOT_A_CONTAINER }]);
      assert.deepEqual(positions(result), [{ valueIndex: 1, entryIndex: 0, line: 2 }]);
    }
  });

  it('reports a stray text run on a line that also holds a value, then the value', () => {
    const result = parseInmsg('oops [{"toNode":"a"}] ]');
    assert.deepEqual(
      result.failures.map(({ valueIndex, text }) => ({ valueIndex, text })),
      [
        { valueIndex: 0, text: 'oops' },
        { valueIndex: 2, text: ']' },
      ],
    );
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.text]),
      [[1, '{"toNode":"a"}']],
    );
  });

  it('reports an unclosed last value as unexpected end of input', () => {
    const unclosed = '[\n    {"toNode": "ship2",\n     "data": ["a"]';
    const result = parseInmsg(`${appended(README_SINGLE)}${unclosed}\n\n`);
    assert.deepEqual(positions(result), [{ valueIndex: 0, entryIndex: 0, line: 2 }]);
    assert.equal(result.failures.length, 1);
    assert.equal(result.failures[0]?.valueIndex, 1);
    assert.equal(result.failures[0]?.line, 11);
    assert.equal(result.failures[0]?.text, unclosed);
    assert.match(result.failures[0]?.reason ?? '', /^unexpected end of input \(value not closed\)/);
  });

  it('keeps an unindented array whole when it parses as a whole', () => {
    const content = '[\n{"toNode":"a"},\n{"toNode":"b"}\n]\n';
    const result = parseInmsg(content);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 0, entryIndex: 1, line: 3 },
    ]);
  });

  it('splits a broken unindented array at its column-0 braces (the resynchronisation rule)', () => {
    const result = parseInmsg('[\n{"toNode":"a"},,\n{"toNode":"b"}\n]\n');
    assert.deepEqual(
      result.failures.map(({ valueIndex, line, text }) => ({ valueIndex, line, text })),
      [
        { valueIndex: 0, line: 1, text: '[' },
        { valueIndex: 2, line: 2, text: ',,' },
        { valueIndex: 4, line: 4, text: ']' },
      ],
    );
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.line, e.text]),
      [
        [1, 2, '{"toNode":"a"}'],
        [3, 3, '{"toNode":"b"}'],
      ],
    );
  });
});

describe('parseInmsg: BOM and line endings', () => {
  it('ignores a leading BOM and handles CRLF, keeping the exact text', () => {
    const crlf = (s: string) => s.replace(/\n/g, '\r\n');
    const content = `\uFEFF${crlf(appended(README_SINGLE, README_TWO))}`;
    const result = parseInmsg(content);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(positions(result), [
      { valueIndex: 0, entryIndex: 0, line: 2 },
      { valueIndex: 1, entryIndex: 0, line: 12 },
      { valueIndex: 1, entryIndex: 1, line: 20 },
    ]);
    const lf = parseInmsg(appended(README_SINGLE, README_TWO));
    assert.deepEqual(
      result.entries.map((e) => e.value),
      lf.entries.map((e) => e.value),
    );
    assert.deepEqual(
      result.entries.map((e) => e.text),
      lf.entries.map((e) => crlf(e.text)),
    );
  });

  it('counts columns without the leading BOM', () => {
    const result = parseInmsg('\uFEFF[{"toNode":"a",}]\n');
    assert.equal(result.failures.length, 1);
    // The error is at the `}`, column 16 as an editor shows it.
    assert.match(result.failures[0]?.reason ?? '', /\(input line 1, column 16\)$/);
  });

  it('skips the BOM of a second appended file and still resynchronises behind it', () => {
    const content = `\uFEFF[{"toNode":"a"}\r\n\uFEFF[{"toNode":"b"}]\r\n`;
    const result = parseInmsg(content);
    assert.deepEqual(
      result.failures.map(({ valueIndex, line, text }) => ({ valueIndex, line, text })),
      [{ valueIndex: 0, line: 1, text: '[{"toNode":"a"}' }],
    );
    assert.deepEqual(
      result.entries.map((e) => [e.valueIndex, e.line, e.text]),
      [[1, 2, '{"toNode":"b"}']],
    );
  });
});

/** Small deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseInmsg: property', () => {
  const SEED = 20240611;
  const tricky = ['a', 'z', ' ', '[', ']', '{', '}', '"', '\\', ',', ':', '\n', '\t', 'é', '😀', '/'];

  function generator(random: () => number) {
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
    const str = () => Array.from({ length: int(9) }, () => pick(tricky)).join('');
    const message = (): Record<string, unknown> => {
      const roll = random();
      const message: Record<string, unknown> = {
        toNode: str(),
        method: pick(['CLICommand', 'TextLogging', 'SayHello']),
        data: Array.from({ length: int(4) }, str),
      };
      if (roll < 0.4) message.timeout = int(100);
      if (roll < 0.2) message.nested = { list: [{ s: str() }, []], empty: {} };
      return message;
    };
    // Arrays may hold non-objects (the parser passes them on); a top-level value may not.
    const element = (): unknown => (random() < 0.1 ? pick([1, 'text', null, [str()], true]) : message());
    const value = (): unknown => (random() < 0.8 ? Array.from({ length: int(5) }, element) : message());
    const format = (v: unknown): string => {
      const text = pick([
        () => JSON.stringify(v),
        () => JSON.stringify(v, null, 2),
        () => JSON.stringify(v, null, 4),
        () => JSON.stringify(v, null, '\t'),
      ])();
      // JSON.stringify escapes line breaks in strings, so this only touches layout.
      return random() < 0.3 ? text.replace(/\n/g, '\r\n') : text;
    };
    return { int, pick, value, format };
  }

  function expectedEntries(values: Array<{ valueIndex: number; value: unknown }>) {
    return values.flatMap(({ valueIndex, value }) =>
      Array.isArray(value)
        ? value.map((element: unknown, entryIndex) => ({ valueIndex, entryIndex, value: element }))
        : [{ valueIndex, entryIndex: 0, value }],
    );
  }

  /** Each text is found in order, with only JSON punctuation and whitespace between. */
  function assertTextsInOrder(content: string, entries: ParsedEntry[]): void {
    const lineOf = (index: number) => content.slice(0, index).split('\n').length;
    let cursor = 0;
    for (const entry of entries) {
      const at = content.indexOf(entry.text, cursor);
      assert.ok(at >= cursor, `text not found after ${cursor}: ${entry.text}`);
      assert.match(content.slice(cursor, at), /^[\s[\],\uFEFF]*$/);
      assert.equal(entry.line, lineOf(at));
      cursor = at + entry.text.length;
    }
  }

  it('finds every entry of N concatenated valid values, in order', () => {
    const random = prng(SEED);
    const { int, pick, value, format } = generator(random);
    for (let run = 0; run < 300; run++) {
      const values = Array.from({ length: 1 + int(8) }, (_, valueIndex) => ({
        valueIndex,
        value: value(),
      }));
      const content = values.map((v) => format(v.value) + pick(['', '\n', '\r\n', '\n\n', ' ', '\t\n'])).join('');
      const result = parseInmsg(content);
      const context = `run ${run}: ${JSON.stringify(content)}`;
      assert.deepEqual(result.failures, [], context);
      assert.deepEqual(
        result.entries.map(({ valueIndex, entryIndex, value: v }) => ({
          valueIndex,
          entryIndex,
          value: v,
        })),
        expectedEntries(values),
        context,
      );
      assertTextsMatchValues(result.entries);
      assertTextsInOrder(content, result.entries);
    }
  });

  it('still finds every valid entry when broken values start lines between them', () => {
    const random = prng(SEED + 1);
    const { int, pick, value, format } = generator(random);
    for (let run = 0; run < 300; run++) {
      const valid: Array<{ valueIndex: number; value: unknown }> = [];
      const broken: Array<{ valueIndex: number; text: string }> = [];
      let content = '';
      const count = 1 + int(8);
      for (let valueIndex = 0; valueIndex < count; valueIndex++) {
        const v = value();
        const text = format(v);
        if (random() < 0.3) {
          // Either cut short (never closed) or closed with a syntax error inside.
          const bad = random() < 0.5 ? text.slice(0, 1 + int(text.length - 1)) : `${text[0]},,${text.slice(1)}`;
          broken.push({ valueIndex, text: bad.replace(/[ \t\r\n]+$/, '') });
          // The next value must start at column 0 to be found behind a broken one.
          content += bad + pick(['\n', '\r\n', '\n\n', ' \n']);
        } else {
          valid.push({ valueIndex, value: v });
          content += text + pick(['\n', '\r\n', '\n\n']);
        }
      }
      const result = parseInmsg(content);
      const context = `run ${run}: ${JSON.stringify(content)}`;
      assert.deepEqual(
        result.failures.map(({ valueIndex, text }) => ({ valueIndex, text })),
        broken,
        context,
      );
      assert.deepEqual(
        result.entries.map(({ valueIndex, entryIndex, value: v }) => ({
          valueIndex,
          entryIndex,
          value: v,
        })),
        expectedEntries(valid),
        context,
      );
      assertTextsMatchValues(result.entries);
    }
  });
});
