import { kangbaoTlv } from './kangbao-tlv.ts';
import { registerConverter } from './registry.ts';

/** The converters shipped with carebell; a deployment registers its own the same way before the profiles load. */
registerConverter(kangbaoTlv);

export { converterNames, getConverter, registerConverter, type Converter, type ConverterResult } from './registry.ts';
