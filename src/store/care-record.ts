import { z } from 'zod';

/**
 * What a responder needs before going in: health, medicines, allergies, how
 * the person moves, their doctor, how to get into the home, and the language
 * to speak. Shown first on an alarm's detail and printable as an emergency card.
 */
const text = (max: number) => z.string().trim().min(1).max(max);

export const careRecordSchema = z
  .object({
    conditions: z.array(text(200)).max(30).optional().describe('medical conditions, e.g. 高血压, 糖尿病, 阿尔茨海默病早期'),
    medications: z.array(text(200)).max(30).optional().describe('regular medicines with dose, e.g. 硝苯地平 10 mg 每日两次'),
    allergies: z.array(text(200)).max(30).optional(),
    mobility: text(300).optional().describe('how the person moves: independent, with a stick, walker, wheelchair, bed-bound'),
    gp: text(300).optional().describe('doctor or clinic and its phone'),
    access: z
      .object({
        keySafe: text(200).optional().describe('key safe location and code'),
        keyholder: text(200).optional().describe('who holds a key, and their phone'),
        doorCode: text(100).optional(),
        notes: text(500).optional().describe('e.g. the dog, the stairs, the building entrance'),
      })
      .strict()
      .optional(),
    language: text(100).optional().describe('language or dialect to speak, e.g. 上海话, hard of hearing'),
  })
  .strict();

export type CareRecord = z.infer<typeof careRecordSchema>;
